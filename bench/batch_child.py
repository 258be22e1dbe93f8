"""One synthesis of a batch scenario in a fresh process: ``python -m bench.batch_child SIDE N OUTDIR``.

``ours``: one ``MetadataGenerationBatch`` over ``AssetSelection.ids`` of N assets; ``peer``: N
``AwsCustomResource``s, what a user writes without the library. Prints one JSON line: wall time
(process start to synthesized assembly), template bytes and resources, or the synth error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

START = time.perf_counter()

from bench.scenarios import DOMAIN_ID, PROJECT_ID, STACK_NAME, Side, asset_id  # noqa: E402 - clock first


def synthesize(side: Side, count: int, outdir: str) -> dict[str, object]:
    import aws_cdk as cdk  # noqa: PLC0415 - measured in this process

    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, STACK_NAME)
    ids = [asset_id(index) for index in range(count)]
    if side is Side.OURS:
        from constructs_lib import AssetSelection, MetadataGenerationBatch  # noqa: PLC0415

        MetadataGenerationBatch(
            stack, "Catalog", domain_id=DOMAIN_ID, project_id=PROJECT_ID, assets=AssetSelection.ids(ids)
        )
    else:
        from bench.scenarios import _add_peer  # noqa: PLC0415

        _add_peer(stack, count, outputs=False)
    try:
        app.synth()
    except Exception as error:  # the error is the result (e.g. the 500-resource limit)
        return {"error": str(error).splitlines()[0][:300], "wall_s": time.perf_counter() - START}
    template = Path(outdir, f"{STACK_NAME}.template.json")
    body = json.loads(template.read_text())
    return {
        "wall_s": time.perf_counter() - START,
        "template_bytes": len(template.read_bytes()),
        "resources": len(body["Resources"]),
    }


if __name__ == "__main__":
    print(json.dumps(synthesize(Side(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
