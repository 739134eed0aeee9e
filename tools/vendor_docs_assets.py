"""Vendor Swagger UI and ReDoc into src/spasmo/web/static/ from their npm packages, for /docs and /redoc.

Run: `.venv/bin/python tools/vendor_docs_assets.py` (needs `npm`; `make test` installs it). It fetches the
pinned versions with `npm pack`, copies the bundles with their licences, and makes the one change the pages
need: ReDoc 2's side menu shows Redocly's logo from cdn.redoc.ly, which is replaced by an empty `data:` image
(ReDoc then hides it), so the page asks no other host for anything. To update, change a version here, run
it, and run tests/test_web_safety_browser.py.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

SWAGGER_UI = "swagger-ui-dist@5.35.0"
REDOC = "redoc@2.5.4"  # ReDoc 3 depends on an OpenTelemetry package: it stays at 2
STATIC = Path(__file__).resolve().parent.parent / "src" / "spasmo" / "web" / "static"
REDOCLY_LOGO = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'


def _unpack(spec: str, into: Path) -> Path:
    name = subprocess.run(["npm", "pack", spec, "--silent"], cwd=into, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(into / name) as archive:
        archive.extractall(into / spec, filter="data")
    return into / spec / "package"


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        swagger = _unpack(SWAGGER_UI, Path(work))
        for source, target in (("swagger-ui-bundle.js", "swagger-ui-bundle.js"), ("swagger-ui.css", "swagger-ui.css"),
                               ("swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js.LICENSE.txt"),
                               ("LICENSE", "swagger-ui.LICENSE.txt"), ("NOTICE", "swagger-ui.NOTICE.txt")):
            shutil.copyfile(swagger / source, STATIC / target)
        redoc = _unpack(REDOC, Path(work))
        bundle = (redoc / "bundles" / "redoc.standalone.js").read_text(encoding="utf-8")
        if bundle.count(REDOCLY_LOGO) != 1:
            raise SystemExit(f"{REDOC}: the logo URL to replace was not found once; check the bundle by hand")
        (STATIC / "redoc.standalone.js").write_text(bundle.replace(REDOCLY_LOGO, 'src:"data:,"'), encoding="utf-8")
        shutil.copyfile(redoc / "bundles" / "redoc.standalone.js.LICENSE.txt", STATIC / "redoc.standalone.js.LICENSE.txt")
        shutil.copyfile(redoc / "LICENSE", STATIC / "redoc.LICENSE.txt")
    print(f"vendored {SWAGGER_UI} and {REDOC} into {STATIC.name}/")


if __name__ == "__main__":
    main()
