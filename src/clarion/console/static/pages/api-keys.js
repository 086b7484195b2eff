// api-keys page: written next.
import { page, h, replace } from '../console.js';

replace(page(), h('p', { class: 'hint' }, 'Not built yet.'));
