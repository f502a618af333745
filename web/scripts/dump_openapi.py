"""Write the API's OpenAPI document (web/openapi.json) from the app, without a server.

Run from the repository root: `PYTHONPATH=$PWD python web/scripts/dump_openapi.py`; then
`npm run gen` in web/ regenerates src/api/schema.d.ts from it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ironworks.api.app import create_app
from ironworks.common.crypto import new_key
from ironworks.common.settings import load_settings
from ironworks.db.engine import Database
from ironworks.services.context import Services


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "openapi.json")
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), secret_key=new_key(), auth={"noauth": False})
        db = Database(f"sqlite:///{home}/doc.db")  # never opened: the document needs no rows
        doc = create_app(Services(db=db, settings=settings)).openapi()
        db.dispose()
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
