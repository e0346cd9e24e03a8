"""Repository-wide pytest options: which simulators run the cocotb testbenches, and waveforms."""

import pytest

from sim.harness import SIMULATORS, missing_reason


def pytest_addoption(parser):
    group = parser.getgroup("qaccel simulation")
    group.addoption(
        "--sim",
        choices=(*SIMULATORS, "both"),
        default="both",
        help="simulator for the cocotb testbenches (default: both)",
    )
    group.addoption(
        "--waves",
        action="store_true",
        default=False,
        help="record a waveform (FST on Icarus, VCD on Verilator) and keep it for failing testbenches",
    )


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--sim")
        sims = SIMULATORS if choice == "both" else (choice,)
        metafunc.parametrize("simulator", sims)


@pytest.fixture
def simulator(request):
    name = request.param
    reason = missing_reason(name)
    if reason is not None:
        pytest.skip(reason)
    return name


@pytest.fixture
def waves(request):
    return request.config.getoption("--waves")
