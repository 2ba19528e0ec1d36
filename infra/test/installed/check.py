"""Checks one synthesized cloud assembly of test/installed/app.*: the stack has the three
authorizers (REST, HTTP and WebSocket), each function's code is the package's asset, and
the manifest carries the stand-in warning (the package was made with --stand-in)."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
template = json.loads((out / "ExistingApis.template.json").read_text())
types = [r["Type"] for r in template["Resources"].values()]
assert types.count("AWS::ApiGateway::Authorizer") == 1, types
assert types.count("AWS::ApiGatewayV2::Authorizer") == 2, types
functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
assert len(functions) == 2, functions
for f in functions:
    assert f["Properties"]["Runtime"] == "provided.al2023", f
    assert f["Properties"]["Architectures"] == ["arm64"], f
    assert "S3Key" in f["Properties"]["Code"], f
assets = json.loads((out / "ExistingApis.assets.json").read_text())
zips = [a["source"]["path"] for a in assets["files"].values() if a["source"]["path"].endswith(".zip")]
assert zips, assets
manifest = json.loads((out / "manifest.json").read_text())
artifact = manifest["artifacts"]["ExistingApis"]
metadata = dict(artifact.get("metadata", {}))
# Newer CDK versions write the metadata to a file of its own.
extra = artifact.get("additionalMetadataFile")
if extra:
    metadata.update(json.loads((out / extra).read_text()))
warnings = [m["data"] for entries in metadata.values() for m in entries if m["type"] == "aws:cdk:warning"]
assert any("stand-in Lambda code" in w for w in warnings), warnings
print(f"{out.name}: 3 authorizers, {len(functions)} functions from the package's zips, the stand-in warning")
