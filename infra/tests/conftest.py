import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import manifests  # noqa: E402


@pytest.fixture(scope="session")
def facts():
    return manifests.load_facts()


@pytest.fixture(scope="session")
def renders():
    return manifests.render_all()


@pytest.fixture(scope="session")
def dashboard():
    return json.loads((manifests.K8S / "components" / "monitoring" / "dashboards" / "strata.json").read_text())
