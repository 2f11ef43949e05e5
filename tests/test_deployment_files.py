"""The deployment files, checked without Docker: docker-compose.yml against the Compose
Specification's JSON schema, the Dockerfile and .dockerignore, deploy/env.example, and every
setting and file they name.

tests/data/compose-spec.json is a copy of schema/compose-spec.json of
https://github.com/compose-spec/compose-spec (its "$comment" says which commit); refresh it from
there, changing nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from hub.settings import REPO_ROOT, Settings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
ENV_EXAMPLE = REPO_ROOT / "deploy" / "env.example"
COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"

# What the image is built from; anything else stays out of it.
IMAGE_SOURCES = {
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "LICENSE",
    "README.md",
    "hub",
    "channels",
    "devstack",
    "schemas",
    "templates",
}
# Never in the build context, whatever the Dockerfile says.
PRIVATE = (".venv", "var", ".git", ".env")


# ---- reading the files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


@dataclass(frozen=True)
class Instruction:
    stage: str  # the stage's name (or its index), "" before the first FROM
    keyword: str  # upper case
    arguments: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    instructions = []
    stage = ""
    for count, line in enumerate(logical):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(count)
        instructions.append(Instruction(stage, keyword, arguments.strip()))
    return instructions


def stages() -> list[str]:
    return list(dict.fromkeys(i.stage for i in dockerfile() if i.keyword == "FROM"))


def copy_sources(instruction: Instruction) -> list[str]:
    """The sources of a COPY or ADD (flags and the destination left out), exec form or not."""
    arguments = instruction.arguments
    words = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    words = [w for w in words if not w.startswith("--")]
    assert len(words) >= 2, instruction
    return list(words[:-1])


def env_file_lines(path: Path) -> Iterator[tuple[str, str, bool]]:
    """(name, value, commented) for every VAR=value line of an env file, commented out or not."""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            yield match[2], match[3], match[1] is not None


def unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def strings(node: Any) -> Iterator[str]:
    """Every string in a loaded YAML document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def setting_names(model: type[BaseModel], prefix: str = "HUB_") -> set[str]:
    """Every environment variable a settings model reads: HUB_<FIELD>, nested with __."""
    names = set()
    for name, field in model.model_fields.items():
        variable = prefix + name.upper()
        names.add(variable)
        for nested in _models(field.annotation):
            names |= setting_names(nested, variable + "__")
    return names


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # X | None
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


HUB_SETTINGS = setting_names(Settings)


# ---- docker-compose.yml ------------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors
    )


def test_the_compose_file_is_version_2_syntax(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "Compose v2 ignores `version:`; leave it out"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "dockerfile_inline" not in text


def test_every_build_uses_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    known = stages()
    built = {name: s["build"] for name, s in services.items() if "build" in s}
    assert built, "no service builds the hub's image"
    for name, build in built.items():
        assert isinstance(build, dict), f"{name}: build needs its context and target"
        assert build.get("context") == ".", name
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
        assert "dockerfile_inline" not in build, name
        assert build.get("target") in known, f"{name}: target {build.get('target')} not in {known}"
    for name, service in services.items():
        if "build" not in service:
            image = service.get("image", "")
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r}"


def test_secrets_come_from_an_env_file_that_is_not_committed(
    services: dict[str, dict[str, Any]],
) -> None:
    hubs = hub_services(services)
    files = set()
    for name in hubs:
        env_file = services[name].get("env_file")
        assert env_file, f"{name} reads no env_file"
        entries = env_file if isinstance(env_file, list) else [env_file]
        files |= {e if isinstance(e, str) else e["path"] for e in entries}
    assert files == {".env"}
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", ".env"], cwd=REPO_ROOT, check=False
    )
    assert ignored.returncode == 0, ".env must be in .gitignore"
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".env", "*/.env"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    assert tracked.stdout == "", f"committed env files: {tracked.stdout}"
    # No secret is written into the compose file itself: each is interpolated from .env.
    for name in hubs:
        for variable, value in environment(services[name]).items():
            if variable in ("HUB_SECRET_KEY", "HUB_CREDENTIALS") or variable.endswith(
                ("PASSWORD", "TOKEN", "PRIVATE_KEY", "WEBHOOK_SECRET")
            ):
                assert INTERPOLATION.fullmatch(value), f"{name}: {variable} is written out"


def hub_services(services: dict[str, dict[str, Any]]) -> list[str]:
    return [
        name
        for name, service in services.items()
        if service.get("build", {}).get("target") == "hub"
    ]


def test_every_hub_variable_is_a_real_setting(services: dict[str, dict[str, Any]]) -> None:
    used: dict[str, str] = {}
    for name, service in services.items():
        for variable in environment(service):
            used.setdefault(variable, f"docker-compose.yml, {name}")
    for text in strings(services):
        for match in INTERPOLATION.finditer(text):
            used.setdefault(match[1], "docker-compose.yml, ${...}")
    for variable, _, _ in env_file_lines(ENV_EXAMPLE):
        used.setdefault(variable, "deploy/env.example")
    for instruction in dockerfile():
        if instruction.keyword == "ENV":
            for variable in re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", instruction.arguments):
                used.setdefault(variable, "Dockerfile")
    unknown = {v: where for v, where in used.items() if v.startswith("HUB_")}
    unknown = {v: where for v, where in unknown.items() if v not in HUB_SETTINGS}
    assert not unknown, f"not settings of hub.settings.Settings: {unknown}"
    assert {"HUB_KAFKA__BROKER", "HUB_SECRET_KEY", "HUB_WORKER_NAME"} <= set(used)


def test_env_example_shows_every_variable_the_compose_file_needs(
    services: dict[str, dict[str, Any]],
) -> None:
    example = {name: (value, commented) for name, value, commented in env_file_lines(ENV_EXAMPLE)}
    for text in strings(services):
        for match in INTERPOLATION.finditer(text):
            variable, operator = match[1], match[2]
            assert variable in example, f"${{{variable}}} is missing from deploy/env.example"
            if operator and operator.endswith("?"):
                value, commented = example[variable]
                assert not commented, f"{variable} is required: give it an uncommented line"
    # Secrets are left empty for the person who deploys, never a working placeholder.
    for secret in ("HUB_SECRET_KEY", "GRAFANA_ADMIN_PASSWORD"):
        assert example[secret] == ("", False), secret
    for variable, (value, commented) in example.items():
        if variable.endswith("PASSWORD") and commented:
            assert value.startswith("<"), f"{variable}: a placeholder, not a password"


def compose_environment_of(
    service: dict[str, Any], example: dict[str, str], filled: dict[str, str]
) -> dict[str, str]:
    """What a worker's environment would be: .env (the example, secrets filled in), then the
    service's environment with ${...} interpolated from the same .env."""

    def interpolate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            variable, operator, default = match[1], match[2], match[3]
            value = filled.get(variable, example.get(variable, ""))
            if operator and operator.endswith("?"):
                assert value, f"{variable} would stop the stack"
                return value
            if operator == ":-" and not value:
                return default
            return value

        return INTERPOLATION.sub(one, text)

    merged = dict(example)
    merged.update(filled)
    merged.update({k: interpolate(v) for k, v in environment(service).items()})
    return {k: v for k, v in merged.items() if k.startswith("HUB_")}


def test_each_worker_gets_settings_the_hub_accepts(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = {n: unquoted(v) for n, v, commented in env_file_lines(ENV_EXAMPLE) if not commented}
    filled = {"HUB_SECRET_KEY": "x" * 43, "GRAFANA_ADMIN_PASSWORD": "y" * 20}
    image_env = {}
    for instruction in dockerfile():
        if instruction.keyword == "ENV" and instruction.stage == "runtime":
            image_env.update(dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", instruction.arguments)))
    seen = []
    for name in hub_services(services):
        env = {k: v for k, v in image_env.items() if k.startswith("HUB_")}
        env.update(compose_environment_of(services[name], example, filled))
        for variable in [v for v in os.environ if v.startswith("HUB_")]:
            monkeypatch.delenv(variable)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.kafka.replication_factor == 3
        assert settings.kafka.insync_replicas == 2
        assert len(settings.kafka.broker.split(";")) == 3
        assert settings.web.host == "0.0.0.0"  # noqa: S104 - what the container binds
        assert str(settings.data_dir) == "/var/lib/hub"
        seen.append(settings)
    assert len(seen) >= 2, "two workers at least"
    # README, "Several workers": shared, and each its own.
    for shared in ("app_id", "secret_key", "kafka", "web.public_url", "smtp", "telegram"):
        values = {repr(_attribute(s, shared)) for s in seen}
        assert len(values) == 1, f"{shared} differs between workers"
    for own in ("worker_name", "web.advertised_url"):
        values = [_attribute(s, own) for s in seen]
        assert None not in values and len(set(values)) == len(values), own


def _attribute(settings: Settings, dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def test_each_worker_has_its_own_data_volume_and_address(
    services: dict[str, dict[str, Any]],
) -> None:
    volumes, hosts = [], []
    for name in hub_services(services):
        service = services[name]
        data = [v for v in service["volumes"] if v.split(":")[1] == "/var/lib/hub"]
        assert len(data) == 1, f"{name}: one volume at /var/lib/hub"
        volumes.append(data[0].split(":")[0])
        advertised = environment(service)["HUB_WEB__ADVERTISED_URL"]
        assert advertised == f"http://{service['hostname']}:6066"
        hosts.append(service["hostname"])
        assert {"kafka-1", "kafka-2", "kafka-3"} <= set(service["depends_on"])
        assert all(
            d["condition"] in ("service_healthy", "service_completed_successfully")
            for d in service["depends_on"].values()
        ), name
    assert len(set(volumes)) == len(volumes) >= 2
    assert len(set(hosts)) == len(hosts)


def test_kafka_is_three_combined_nodes_that_vote_together(
    services: dict[str, dict[str, Any]],
) -> None:
    nodes = {n: s for n, s in services.items() if s.get("image", "").startswith("apache/kafka:")}
    assert len(nodes) == 3
    voters = set()
    ids = {}
    for name, node in nodes.items():
        env = environment(node)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert "healthcheck" in node
        voters.add(env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        ids[name] = env["KAFKA_NODE_ID"]
        assert env["KAFKA_LOG_DIRS"] in {v.split(":")[1] for v in node["volumes"]}
    assert len(voters) == 1
    assert voters.pop() == ",".join(f"{ids[n]}@{n}:9093" for n in sorted(nodes))
    assert len({environment(n)["CLUSTER_ID"] for n in nodes.values()}) == 1
    brokers = {environment(services[h])["HUB_KAFKA__BROKER"] for h in hub_services(services)}.pop()
    assert sorted(brokers.split(";")) == [f"kafka://{n}:9092" for n in sorted(nodes)]


def test_every_file_the_compose_file_mounts_exists(services: dict[str, dict[str, Any]]) -> None:
    mounted = []
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                mounted.append((name, source))
    assert mounted
    for name, source in mounted:
        assert source.startswith("./"), f"{name}: mount {source} from the checkout only"
        assert (REPO_ROOT / source).exists(), f"{name}: {source} does not exist"
        for private in PRIVATE:
            assert not source[2:].startswith(private), f"{name}: mounts {source}"


def test_the_stack_has_the_sandbox_prometheus_and_grafana(
    services: dict[str, dict[str, Any]],
) -> None:
    commands = {n: " ".join(s.get("command", [])) for n, s in services.items()}
    assert any("devstack.mailcatcher" in c for c in commands.values())
    sandbox = [n for n, c in commands.items() if "devstack.telegram_sandbox" in c]
    assert len(sandbox) == 1
    for name in hub_services(services):
        base_url = environment(services[name])["HUB_TELEGRAM__BASE_URL"]
        assert f"//{sandbox[0]}:8081/bot" in base_url
    images = {s.get("image", "").split(":")[0] for s in services.values()}
    assert {"prom/prometheus", "grafana/grafana"} <= images
    for name, service in services.items():
        if name not in hub_services(services):  # the hub's image has its own healthcheck
            assert "healthcheck" in service, f"{name} has no healthcheck"


def _mount_target(service: dict[str, Any], source: str) -> str:
    for volume in service["volumes"]:
        parts = volume.split(":")
        if parts[0].rstrip("/") == source:
            return parts[1]
    raise AssertionError(f"{source} is not mounted")


def test_prometheus_scrapes_the_workers_of_the_stack(services: dict[str, dict[str, Any]]) -> None:
    (name,) = [n for n, s in services.items() if s.get("image", "").startswith("prom/")]
    target = _mount_target(services[name], "./deploy/prometheus")
    config_path = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
    assert f"--config.file={target}/prometheus.yml" in services[name]["command"]
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    hosts = {n for n in services} | {s["hostname"] for s in services.values() if "hostname" in s}
    scraped = set()
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for address in static.get("targets", []):
                host = address.rsplit(":", 1)[0]
                assert host in hosts | {"localhost", "127.0.0.1"}, f"{address}: no such service"
                scraped.add(host)
    assert set(hub_services(services)) <= scraped
    for rules in config.get("rule_files", []):
        assert rules.startswith(target + "/") or "/" not in rules, rules
        assert (config_path.parent / Path(rules).name).is_file(), rules


def test_grafana_finds_its_dashboards_and_prometheus(services: dict[str, dict[str, Any]]) -> None:
    (name,) = [n for n, s in services.items() if s.get("image", "").startswith("grafana/")]
    grafana = services[name]
    assert _mount_target(grafana, "./deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    dashboards = _mount_target(grafana, "./deploy/grafana/dashboards")
    provisioning = REPO_ROOT / "deploy" / "grafana" / "provisioning"
    providers = [
        p
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for p in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("providers", [])
    ]
    assert providers, "no dashboard provider in deploy/grafana/provisioning/dashboards/"
    for provider in providers:
        path = provider["options"]["path"].rstrip("/")
        assert path == dashboards or path.startswith(dashboards + "/"), (
            f"the provider reads {path}; the dashboards are mounted at {dashboards}"
        )
    assert list((REPO_ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    sources = [
        s
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for s in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("datasources", [])
    ]
    prometheus = [s for s in sources if s.get("type") == "prometheus"]
    assert prometheus, "no Prometheus data source provisioned"
    for source in prometheus:
        host = re.sub(r"^https?://", "", source["url"]).split(":")[0].split("/")[0]
        assert host in services, f"{source['url']}: no such service"


# ---- Dockerfile and .dockerignore ---------------------------------------------------------------


def test_dockerignore_keeps_private_things_out_of_the_context() -> None:
    entries = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for private in PRIVATE:
        assert private in entries, f".dockerignore does not exclude {private}"
    assert {"**/__pycache__", "**/*.egg-info"} <= entries


def test_the_dockerfile_copies_named_sources_only() -> None:
    copies = [i for i in dockerfile() if i.keyword in ("COPY", "ADD")]
    assert copies
    for instruction in copies:
        if "--from=" in instruction.arguments:
            continue  # from another stage, not the context
        assert instruction.keyword == "COPY", f"ADD fetches and unpacks: {instruction}"
        for source in copy_sources(instruction):
            top = source.removeprefix("./").strip("/").split("/")[0]
            assert top not in ("", ".", "*"), f"copies the whole context: {instruction}"
            assert top in IMAGE_SOURCES, f"copies {source}: {instruction}"


def test_the_image_installs_from_pyproject_as_a_user_with_a_healthcheck() -> None:
    instructions = dockerfile()
    final = instructions[-1].stage
    assert final == "hub", "the hub's stage is the default (last) target"
    bases = {i.stage: i.arguments.split()[0] for i in instructions if i.keyword == "FROM"}
    assert bases["build"] == bases["runtime"] == "python:3.11-slim"
    runs = " ".join(i.arguments for i in instructions if i.keyword == "RUN")
    assert "pip install --no-cache-dir ." in runs
    assert "-e ." not in runs and "--editable" not in runs
    assert "devstack.catalogs compile" in runs

    def last(keyword: str, stage_names: set[str]) -> str:
        found = [i for i in instructions if i.keyword == keyword and i.stage in stage_names]
        assert found, f"no {keyword} in {stage_names}"
        return found[-1].arguments

    # `hub` is `FROM runtime`: what the runtime stage sets is what the image runs with.
    assert last("FROM", {"hub"}).split()[0] == "runtime"
    user = last("USER", {"runtime", "hub"})
    assert user not in ("root", "0") and not user.startswith(("root:", "0:"))
    assert last("USER", {"devstack"}) == user
    assert "6066" in last("EXPOSE", {"runtime", "hub"}).split()
    health = last("HEALTHCHECK", {"runtime", "hub"})
    assert "/api/v1/health" in health and "CMD" in health
    assert json.loads(last("CMD", {"runtime", "hub"})) == ["hub", "worker"]


def test_the_devstack_stage_has_the_mail_catchers_server() -> None:
    dev = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (wanted,) = [r for r in dev["project"]["optional-dependencies"]["dev"] if "aiosmtpd" in r]
    runs = [i.arguments for i in dockerfile() if i.keyword == "RUN" and i.stage == "devstack"]
    assert any(f'"{wanted}"' in run for run in runs), f"the devstack stage installs {wanted}"


# ---- deploy/k8s ------------------------------------------------------------------------------

K8S = REPO_ROOT / "deploy" / "k8s"
# Strimzi's custom resources' schemas: tests/data/strimzi-crd-schemas.json says where from.
STRIMZI_SCHEMAS = Path(__file__).parent / "data" / "strimzi-crd-schemas.json"
SECRET_SUFFIXES = ("PASSWORD", "TOKEN", "SECRET", "SECRET_KEY", "PRIVATE_KEY", "CREDENTIALS")


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource of deploy/k8s by (kind, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert isinstance(document, dict), f"{path.name}: an empty document"
            for field in ("apiVersion", "kind", "metadata"):
                assert field in document, f"{path.name}: a resource without {field}"
            key = (document["kind"], document["metadata"]["name"])
            assert key not in found, f"{key} twice"
            found[key] = document
    return found


def one(manifests: dict[tuple[str, str], dict[str, Any]], kind: str) -> dict[str, Any]:
    (resource,) = [r for (k, _), r in manifests.items() if k == kind]
    return resource


def test_k8s_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [i["name"] for i in kustomization["images"]] == ["comms-hub"]


def test_k8s_strimzi_resources_follow_their_schemas(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    schemas = json.loads(STRIMZI_SCHEMAS.read_text(encoding="utf-8"))["schemas"]
    strimzi = [r for r in manifests.values() if r["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {r["kind"] for r in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
    for resource in strimzi:
        schema = schemas[f"{resource['apiVersion']}/{resource['kind']}"]
        errors = list(jsonschema.Draft4Validator(schema).iter_errors(resource))
        where = f"{resource['kind']} {resource['metadata']['name']}"
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors
        )
        assert not list(_unknown_fields(resource, schema)), f"{where}: fields Strimzi ignores"


def _unknown_fields(node: Any, schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """Fields a structural schema would prune (Kubernetes drops them without a word)."""
    if isinstance(node, dict) and "properties" in schema:
        if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("additionalProperties"):
            return
        for key, value in node.items():
            if key not in schema["properties"]:
                yield f"{path}/{key}"
            elif key != "metadata":
                yield from _unknown_fields(value, schema["properties"][key], f"{path}/{key}")
    elif isinstance(node, list) and "items" in schema:
        for index, item in enumerate(node):
            yield from _unknown_fields(item, schema["items"], f"{path}/{index}")


def test_k8s_kafka_is_three_combined_nodes_with_volumes(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    kafka = one(manifests, "Kafka")
    cluster = kafka["metadata"]["name"]
    pool = one(manifests, "KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    volumes = pool["spec"]["storage"]["volumes"]
    assert volumes and all(v["type"] == "persistent-claim" for v in volumes)
    assert not any(v.get("deleteClaim") for v in volumes), "the data outlives the cluster"
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == config["offsets.topic.replication.factor"] == 3
    assert config["min.insync.replicas"] == config["transaction.state.log.min.isr"] == 2
    for resource in manifests.values():
        if resource["kind"] in ("KafkaNodePool", "KafkaTopic", "KafkaUser"):
            assert resource["metadata"]["labels"]["strimzi.io/cluster"] == cluster


def k8s_environment(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    """A worker's HUB_ environment: the image's, the ConfigMap's, then the container's own
    (field references as the first pod would have them, secrets made up)."""
    env = {}
    for instruction in dockerfile():
        if instruction.keyword == "ENV" and instruction.stage == "runtime":
            env.update(dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", instruction.arguments)))
    container = _container(manifests)
    for source in container["envFrom"]:
        if "configMapRef" in source:
            env.update(manifests[("ConfigMap", source["configMapRef"]["name"])]["data"])
    env["HUB_SECRET_KEY"] = "made-up-" + "k" * 40  # from the Secret hub-secrets
    fields = {"metadata.name": "hub-0", "metadata.namespace": "comms-hub"}
    for variable in container["env"]:
        if "value" in variable:
            value = re.sub(r"\$\((\w+)\)", lambda m: env[m[1]], variable["value"])
        elif "fieldRef" in variable["valueFrom"]:
            value = fields[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            value = "made-up-secret"
        env[variable["name"]] = value
    return env


def _container(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(manifests, "StatefulSet")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def k8s_settings(
    manifests: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for variable in [v for v in os.environ if v.startswith("HUB_")]:
        monkeypatch.delenv(variable)
    for variable, value in k8s_environment(manifests).items():
        if variable.startswith("HUB_"):
            monkeypatch.setenv(variable, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_k8s_workers_get_settings_the_hub_accepts(
    manifests: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = k8s_environment(manifests)
    unknown = [v for v in env if v.startswith("HUB_") and v not in HUB_SETTINGS]
    assert not unknown, f"not settings of hub.settings.Settings: {unknown}"
    for name, value in manifests[("ConfigMap", "hub-config")]["data"].items():
        assert not name.endswith(SECRET_SUFFIXES), f"{name} is a secret: put it in hub-secrets"
        assert isinstance(value, str), f"{name}: a ConfigMap holds strings"
    settings = k8s_settings(manifests, monkeypatch)
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.insync_replicas == 2
    assert settings.worker_name == "hub-0"
    assert settings.web.public_url.startswith("https://")
    statefulset = one(manifests, "StatefulSet")
    assert statefulset["spec"]["replicas"] <= settings.kafka.partitions, "idle workers"
    service = statefulset["spec"]["serviceName"]
    assert settings.web.advertised_url == f"http://hub-0.{service}.comms-hub.svc:6066"


def test_k8s_workers_reach_kafka_as_the_kafka_user(
    manifests: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = k8s_settings(manifests, monkeypatch)
    kafka = one(manifests, "Kafka")
    cluster = kafka["metadata"]["name"]
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
    assert settings.kafka.broker == f"kafka://{cluster}-kafka-bootstrap:{listener['port']}"
    assert settings.kafka.sasl_mechanism == "SCRAM-SHA-512"
    user = one(manifests, "KafkaUser")
    assert user["metadata"]["name"] == settings.kafka.sasl_username
    (password,) = [v for v in _container(manifests)["env"] if v["name"].endswith("SASL_PASSWORD")]
    assert password["valueFrom"]["secretKeyRef"]["name"] == user["metadata"]["name"]
    spec = one(manifests, "StatefulSet")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(manifests)["volumeMounts"]}
    assert settings.kafka.ssl_cafile is not None
    ca = volumes[mounts[str(settings.kafka.ssl_cafile.parent)]]["secret"]
    assert ca["secretName"] == f"{cluster}-cluster-ca-cert"
    assert [i["path"] for i in ca["items"]] == [settings.kafka.ssl_cafile.name]
    # What the hub does with topics and groups, its ACLs allow.
    acls = user["spec"]["authorization"]["acls"]
    prefixes = {
        (a["resource"]["type"], a["resource"]["name"])
        for a in acls
        if a["resource"].get("patternType") == "prefix"
    }
    assert ("topic", settings.kafka.topic_prefix + ".") in prefixes
    assert ("topic", settings.app_id + "-") in prefixes  # Faust's changelogs
    assert ("group", settings.app_id) in prefixes
    for acl in acls:
        if acl["resource"]["type"] == "topic":
            assert {"Create", "Read", "Write", "AlterConfigs"} <= set(acl["operations"])


def test_k8s_topics_are_the_ones_the_hub_creates(
    manifests: dict[tuple[str, str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from hub.kafka.admin import COMPACTED, KEEP_FOREVER
    from hub.kafka.security import topic_configs
    from hub.runtime.app import create_runtime
    from hub.settings import KafkaSettings

    deployed = k8s_settings(manifests, monkeypatch)
    kafka = KafkaSettings(
        topic_prefix=deployed.kafka.topic_prefix,
        partitions=deployed.kafka.partitions,
        replication_factor=deployed.kafka.replication_factor,
        min_insync_replicas=deployed.kafka.min_insync_replicas,
    )
    newsletters = tmp_path / "newsletters.yaml"
    newsletters.write_text(manifests[("ConfigMap", "hub-newsletters")]["data"]["newsletters.yaml"])
    local = {"data_dir": tmp_path, "kafka": kafka, "newsletters_file": newsletters}
    rt = create_runtime(deployed.model_copy(update=local))
    base = topic_configs(kafka)
    names = rt.names
    # As hub/runtime/worker.py's create_topics makes them: (partitions, configuration).
    expected = {
        name: (kafka.partitions, {**base, **KEEP_FOREVER}) for name in rt.records_topic_names()
    }
    for name in (names.credentials, names.partners, names.accounts, names.console):
        expected[name] = (1, {**base, **COMPACTED})
    expected[names.event_documents] = (kafka.partitions, {**base, **COMPACTED})
    declared = {}
    for (kind, _), topic in manifests.items():
        if kind == "KafkaTopic":
            spec = topic["spec"]
            assert spec["replicas"] == kafka.replication_factor, spec["topicName"]
            config = {k: str(v) for k, v in spec.get("config", {}).items()}
            declared[spec["topicName"]] = (spec["partitions"], config)
    assert declared == expected
    # Never a topic whose configuration the worker sets at every start.
    aligned = {names.subscribers, *rt.expiring_changelog_names()}
    aligned.add(rt.subscriber_records.changelog_topic.get_topic_name())
    assert not aligned & set(declared)


def test_k8s_each_worker_keeps_its_name_volume_and_address(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    statefulset = one(manifests, "StatefulSet")
    spec = statefulset["spec"]
    headless = manifests[("Service", spec["serviceName"])]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"]
    template = spec["template"]
    labels = template["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert headless["selector"].items() <= labels.items()
    container = _container(manifests)
    (claim,) = spec["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/hub"  # the image's HUB_DATA_DIR
    env = {v["name"]: v for v in container["env"]}
    assert env["HUB_WORKER_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # The newsletters file where the image looks for it.
    newsletters = [m for m in container["volumeMounts"] if m["mountPath"].endswith(".yaml")]
    assert [m["mountPath"] for m in newsletters] == ["/etc/hub/newsletters.yaml"]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    config_map = manifests[("ConfigMap", volumes[newsletters[0]["name"]]["configMap"]["name"])]
    from hub.newsletters.config import NewsletterFile

    NewsletterFile.model_validate(yaml.safe_load(config_map["data"][newsletters[0]["subPath"]]))
    # Probes: alive, then ready; as the image's user, nothing more.
    assert container["startupProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    assert [p["containerPort"] for p in container["ports"]] == [6066]
    security = template["spec"]["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == 10001
    assert "--uid 10001" in " ".join(i.arguments for i in dockerfile() if i.keyword == "RUN")
    assert container["securityContext"]["readOnlyRootFilesystem"]
    assert "/tmp" in mounts.values()
    secrets = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert secrets == ["hub-secrets"]
    assert not any(k == "Secret" for k, _ in manifests), "secrets are never committed"


def test_k8s_ingress_serves_the_public_url_over_tls(
    manifests: dict[tuple[str, str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = k8s_settings(manifests, monkeypatch)
    host = settings.web.public_url.removeprefix("https://").split("/")[0]
    ingress = one(manifests, "Ingress")["spec"]
    assert [h for t in ingress["tls"] for h in t["hosts"]] == [host]
    (rule,) = ingress["rules"]
    assert rule["host"] == host
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        service = manifests[("Service", backend["name"])]["spec"]
        assert backend["port"]["name"] in {p["name"] for p in service["ports"]}
        assert "clusterIP" not in service, "the ready workers, not the headless service"
