"""The admin console at `/console`: server-rendered page shells whose scripts
call Clarion's own JSON API with the session cookie (see docs/console.md)."""
