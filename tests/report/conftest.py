"""The report tests share one small real analysis, built once per session."""

from __future__ import annotations

import pytest
from tests.report.report_data import build_analysis

from fidelis.analytics.service import Analysis


@pytest.fixture(scope="session")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return build_analysis(tmp_path_factory.mktemp("report-warehouse"))
