"""TypeScript types generated from the served schema by openapi-typescript, and a small typed
client over them (tests/contract/ts/client.ts), pass ``tsc --noEmit --strict``. The tools are
the versions pinned in tests/contract/ts/package-lock.json, installed by `make test`'s set-up."""

import json
import shutil
import subprocess
from pathlib import Path

from tests.contract.conftest import ts_tool

CLIENT = Path(__file__).resolve().parent / "ts" / "client.ts"
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "es2022",
        "lib": ["es2022"],
        "module": "esnext",
        "moduleResolution": "bundler",
        "noUncheckedIndexedAccess": True,
        "noImplicitOverride": True,
        "types": [],
    },
    "files": ["schema.d.ts", "client.ts"],
}


def _check(folder: Path, types: Path, client: str) -> subprocess.CompletedProcess[str]:
    """``tsc --noEmit --strict`` on the generated types and a client, in ``folder``."""
    shutil.copy(types, folder / "schema.d.ts")
    (folder / "client.ts").write_text(client)
    (folder / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    return subprocess.run(
        [str(ts_tool("tsc")), "--noEmit", "--strict", "-p", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_generated_types_and_a_typed_client_pass_tsc_strict(
    typescript_types: Path, tmp_path: Path
) -> None:
    assert '"/api/v1/delivery-requests/{request_id}/deliver/photo/"' in typescript_types.read_text()

    checked = _check(tmp_path, typescript_types, CLIENT.read_text())

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_tsc_rejects_a_client_that_breaks_the_contract(
    typescript_types: Path, tmp_path: Path
) -> None:
    """The check has teeth: an error code an operation never answers with, or a field the
    customer's shape does not have, does not compile."""
    client = (
        'import type { components, operations } from "./schema";\n'
        'type Body = operations["desk_requests_pickup_create"]["responses"][400]'
        '["content"]["application/json"];\n'
        'export const locked = (error: Body): boolean => error.code === "trip_full";\n'
        'export const pass = (r: components["schemas"]["RequestCustomer"]): string =>'
        " r.pickup_code;\n"
    )

    checked = _check(tmp_path, typescript_types, client)

    assert checked.returncode != 0
    assert "TS2367" in checked.stdout  # no overlap: "trip_full" is not a pickup code
    assert "TS2339" in checked.stdout  # no pickup_code in the customer's shape
