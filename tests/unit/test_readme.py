from pathlib import Path

from clarion.config import Settings

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`CLARION_{name.upper()}`" not in text]
    assert missing == []
