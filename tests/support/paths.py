"""Where things are: the repository, the tests, their data and support files."""

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
TESTS = SUPPORT.parent
ROOT = TESTS.parent
DATA = TESTS / "data"
BROWSER = TESTS / "browser"
EXAMPLES = ROOT / "examples"
