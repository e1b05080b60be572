"""``scripts/bench``: what a full refresh costs, side by side in one run, and how far one event loop scales.

Every number comes from this run on this machine, against the project's simulator on 127.0.0.1, which runs in
its own process (the load generator is never measured). Sections:

1. **Per profile** (each simulated endpoint): requests, registers, wall and CPU time per full refresh of
   - ``sems PlantMonitor.refresh()``: the library path every consumer uses (read, decode, energy books,
     snapshot), and ``sems PlantClient.read()`` (read and decode only);
   - ``pymodbus, planned requests``: bare pymodbus sending the requests our plan sends (the floor of any
     Modbus client in Python; it decodes nothing);
   - ``pymodbus, one request per point``: how Home Assistant core's ``modbus`` integration reads, one
     request per configured value;
   - the ``goodwe`` library (GoodWe ET/DT, ``read_runtime_data``) and ``pysunspec2`` (SunSpec, ``read()`` of
     the models our plan covers), when installed.
   Contenders run interleaved: every round runs each of them in turn, in rotating order, and the medians of
   the rounds are reported, so load from elsewhere on the machine hits all of them alike.
2. **Scale**: 1, 10, 50, 200 and 1,000 simulated GoodWe ET endpoints (Modbus TCP, each with its own
   connection, inverter + battery + meter) polled with ``PlantMonitor.refresh()`` every 5 s on one event
   loop, polls spread over the interval in 50 ms slots (the polls due in one slot start together and
   share the loop's wake-ups; 1,000 polls one by one are shown too): CPU (% of one core), RSS, event-loop
   lag (p99, max; a probe that wakes every 50 ms) and poll latency (from when the poll was due).
3. **Home Assistant**: a real Home Assistant (pytest-homeassistant-custom-component's harness) with entries
   for the simulated GoodWe ET and SunSpec plants: entities, state writes per coordinator refresh, CPU of a
   coordinator refresh with its entities attached against the library refresh alone, and what writing
   every entity on every poll would cost instead (``scripts/bench_ha.py``).
4. **Cloud uplink** (optional): ``scripts/bench_uplink.py``, when it exists.

Results: a Markdown report on stdout and everything as JSON in ``bench-results.json`` (git-ignored).
``scripts/bench --quick`` is a short run for CI-like checks (fewer rounds, scale up to 50 devices).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from custom_components.sems.plantkit.client import PlantClient  # noqa: E402
from custom_components.sems.plantkit.model import DeviceIdentity  # noqa: E402
from custom_components.sems.plantkit.monitor import PlantMonitor  # noqa: E402
from custom_components.sems.plantkit.registers import RegisterKind  # noqa: E402
from custom_components.sems.plantkit.transport import Endpoint, TransportType  # noqa: E402

HOST = "127.0.0.1"  # loopback only, always
SUNNY_NOON = "2026-06-21T12:00:00"
POLL_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class Case:
    """One simulated endpoint of section 1."""

    endpoint: str  # simulator endpoint name
    title: str
    transport: TransportType
    units: tuple[int, ...] | None  # None: the usual ids (probe)


CASES = (
    Case("goodwe_et_tcp", "GoodWe ET + battery + meter, Modbus TCP", TransportType.TCP, None),
    Case("goodwe_et_udp", "GoodWe ET + battery + meter, UDP 8899", TransportType.UDP, None),
    Case("goodwe_dt_udp", "GoodWe DT, UDP 8899", TransportType.UDP, None),
    Case("sunspec_tcp", "SunSpec inverter + battery + meter, Modbus TCP", TransportType.TCP, (1, 2)),
    Case("sdm630_tcp", "Eastron SDM630, Modbus TCP", TransportType.TCP, None),
    Case("eastron_gateway", "Eastron SDM630 + SDM120, RTU over TCP", TransportType.RTU_OVER_TCP, (1, 2)),
)
# Scale steps: (devices, slot ms). 0 devices: the loop-lag probe alone (its own cost). Polls due within the
# same slot start together and share the loop's wake-ups; the last step shows 1,000 polls one by one.
SCALES = ((0, 50), (1, 50), (10, 50), (50, 50), (200, 50), (1000, 50), (1000, 0))
QUICK_SCALES = ((0, 50), (1, 50), (10, 50), (50, 50))
PROBE_PERIOD = 0.05  # seconds between the loop-lag probe's wake-ups
SECTIONS = ("profiles", "scale", "ha", "uplink")


# -- the simulator process ---------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    """The simulator side (its own process): the plant's endpoints and ``--scale`` GoodWe ET endpoints.

    Prints one JSON line with the ports, then answers commands on stdin: ``counts`` prints the requests
    and registers each endpoint served since the last ``counts``; end of input stops it.
    """
    from simulator.devices.goodwe import GoodWeEtSim
    from simulator.physics import PlantPhysics
    from simulator.plant import SimulatedPlant
    from simulator.server import SimServer

    start = datetime.fromisoformat(args.start)
    plant = SimulatedPlant(host=HOST, speed=args.speed, start=start, endpoints=args.endpoints or [])
    await plant.start(tick=1.0)
    physics = PlantPhysics(start=start, speed=args.speed)
    shared = GoodWeEtSim()  # the scale endpoints all serve one device image (one render per tick)
    shared.render(physics.state)
    scale = [SimServer([shared], "tcp", HOST, 0) for _ in range(args.scale)]
    for server in scale:
        await server.start()

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            shared.render(physics.advance(1.0))

    ticker = asyncio.create_task(tick())
    ports = {name: plant.port(name) for name in plant.servers}
    print(json.dumps({"ports": ports, "scale": [s.port for s in scale]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    servers = {**plant.servers, **{f"scale{i}": s for i, s in enumerate(scale)}}
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "counts":
                counts = {
                    name: [len(s.requests), sum(r.count for r in s.requests)] for name, s in servers.items()
                }
                for server in servers.values():
                    server.requests.clear()
                print(json.dumps(counts), flush=True)
    finally:
        ticker.cancel()
        for server in scale:
            await server.stop()
        await plant.stop()


class Simulator:
    """The simulator process, seen from the benchmark."""

    def __init__(self, *, endpoints: Sequence[str] = (), scale: int = 0, speed: float = 1.0) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "serve", "--speed", str(speed)]
        command += ["--start", SUNNY_NOON, "--scale", str(scale), "--endpoints", *endpoints]
        self._process = subprocess.Popen(  # loopback servers only
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
        )
        assert self._process.stdout is not None
        ready = json.loads(self._process.stdout.readline() or "null")
        if ready is None:
            raise RuntimeError("the simulator did not start")
        self.ports: dict[str, int] = ready["ports"]
        self.scale_ports: list[int] = ready["scale"]
        self.pid = self._process.pid

    def counts(self) -> dict[str, tuple[int, int]]:
        """Requests and registers served per endpoint since the last call."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("counts\n")
        self._process.stdin.flush()
        return {name: (n, r) for name, (n, r) in json.loads(self._process.stdout.readline()).items()}

    def stop(self) -> None:
        """Stop the process (end of its input), or kill it after 10 s."""
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# -- section 1: per profile ------------------------------------------------------------------------------


@dataclass
class Contender:
    """One way of doing a full refresh of an endpoint."""

    name: str
    refresh: Callable[[], Awaitable[object]]
    close: Callable[[], Awaitable[None]]
    baseline: bool = False  # the bare pymodbus reference the ratios are taken against
    cpu: list[float] = field(default_factory=list)  # seconds per refresh, one per round
    wall: list[float] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    registers: list[float] = field(default_factory=list)
    error: str | None = None


def _endpoint(case: Case, port: int) -> Endpoint:
    return Endpoint(HOST, port, case.transport, timeout=2.0)


async def _sems_contenders(case: Case, port: int) -> tuple[list[Contender], PlantClient]:
    probe = PlantClient(_endpoint(case, port))
    async with probe:
        devices = await probe.probe(list(case.units) if case.units else None)
    contenders = []
    for name in ("monitor", "client"):
        client = PlantClient(_endpoint(case, port))
        client.devices = devices  # as Home Assistant does: devices from storage
        monitor = PlantMonitor(client, name=case.endpoint, poll_interval=_interval())
        await monitor.refresh()  # the first refresh confirms the counters (it reads twice)
        refresh = monitor.refresh if name == "monitor" else client.read
        title = "sems PlantMonitor.refresh()" if name == "monitor" else "sems PlantClient.read()"
        contenders.append(Contender(title, refresh, client.close))
    planner = PlantClient(_endpoint(case, port))
    planner.devices = devices
    await planner.prepare()
    return contenders, planner


def _interval() -> Any:
    from datetime import timedelta

    return timedelta(seconds=POLL_INTERVAL)


def _planned(client: PlantClient) -> list[tuple[int, RegisterKind, int, int]]:
    """The requests of our plan: (unit, kind, address, count)."""
    return [
        (unit, request.kind, request.address, request.count)
        for unit in sorted({d.unit_id for d in client.devices})
        for request in client._unit_plan(unit).requests
    ]


def _per_point(client: PlantClient) -> list[tuple[int, RegisterKind, int, int]]:
    """One request per point our decoders use, as a hand-written Home Assistant modbus configuration reads."""
    seen: dict[tuple[int, RegisterKind, int, int], None] = {}
    for device in client.devices:
        for point in client.profile(device.profile).points(device):
            seen[(device.unit_id, point.kind, point.address, point.count)] = None
    return list(seen)


async def _pymodbus_contenders(case: Case, port: int, planner: PlantClient) -> list[Contender]:
    try:
        from pymodbus import FramerType
        from pymodbus.client import AsyncModbusTcpClient
    except ImportError:
        return []
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if case.transport is TransportType.UDP:
        return []  # GoodWe's AA55 framing is no Modbus framing pymodbus speaks
    framer = FramerType.RTU if case.transport is TransportType.RTU_OVER_TCP else FramerType.SOCKET
    contenders = []
    for title, requests in (
        ("pymodbus, planned requests (bare)", _planned(planner)),
        ("pymodbus, one request per point (HA modbus)", _per_point(planner)),
    ):
        client = AsyncModbusTcpClient(HOST, port=port, framer=framer, timeout=2, retries=1)
        await client.connect()

        async def refresh(client: Any = client, requests: Any = requests) -> list[list[int]]:
            out = []
            for unit, kind, address, count in requests:
                read = (
                    client.read_holding_registers
                    if kind is RegisterKind.HOLDING
                    else client.read_input_registers
                )
                reply = await read(address, count=count, slave=unit)
                if reply.isError():
                    raise RuntimeError(f"pymodbus: {reply}")
                out.append(reply.registers)
            return out

        async def close(client: Any = client) -> None:
            client.close()

        contenders.append(Contender(title, refresh, close, baseline=title.endswith("(bare)")))
    return contenders


async def _goodwe_contender(case: Case, port: int) -> list[Contender]:
    try:
        from goodwe.dt import DT
        from goodwe.et import ET
        from goodwe.protocol import UdpInverterProtocol
    except ImportError:
        return []
    logging.getLogger("goodwe").setLevel(logging.CRITICAL)
    family = (
        ET if case.endpoint.startswith("goodwe_et") else DT if case.endpoint.startswith("goodwe_dt") else None
    )
    if family is None:
        return []
    if case.transport is TransportType.UDP:

        class _Udp(family):  # type: ignore[misc,valid-type]
            """The library picks UDP only on port 8899; the simulator listens elsewhere."""

            @staticmethod
            def _create_protocol(host: str, port: int, comm_addr: int, timeout: int, retries: int) -> Any:
                return UdpInverterProtocol(host, port, comm_addr, timeout, retries)

        inverter = _Udp(HOST, port, 0, 2, 1)
    else:
        inverter = family(HOST, port, 0, 2, 1)
    await inverter.read_device_info()
    await inverter.read_runtime_data()

    async def close() -> None:
        protocol = getattr(inverter, "_protocol", None)
        closer = getattr(protocol, "close", None)
        if closer is not None:
            result = closer()
            if asyncio.iscoroutine(result):
                await result

    return [Contender("goodwe library read_runtime_data()", inverter.read_runtime_data, close)]


async def _pysunspec_contender(case: Case, port: int, planner: PlantClient) -> list[Contender]:
    if not case.endpoint.startswith("sunspec"):
        return []
    try:
        import sunspec2.modbus.client as sunspec_client
    except ImportError:
        return []
    planned = _planned(planner)
    devices = []
    models = []
    for unit in sorted({d.unit_id for d in planner.devices}):
        device = sunspec_client.SunSpecModbusClientDeviceTCP(
            slave_id=unit, ipaddr=HOST, ipport=port, timeout=2
        )
        await asyncio.to_thread(device.scan)
        devices.append(device)
        for model_id, instances in device.models.items():
            if not isinstance(model_id, int):
                continue
            for model in instances:
                start, end = model.model_addr, model.model_addr + model.model_len + 2
                # The models our plan reads registers of (pysunspec2 always reads whole models).
                if any(u == unit and a < end and start < a + n for u, _, a, n in planned):
                    models.append(model)

    async def refresh() -> None:
        for model in models:
            model.read()  # blocking, as pysunspec2 is; the loop runs nothing else meanwhile

    async def close() -> None:
        for device in devices:
            device.close()

    return [Contender("pysunspec2 model.read()", refresh, close)]


async def bench_profiles(sim: Simulator, rounds: int, per_round: int) -> list[dict[str, Any]]:
    """Section 1: every case, its contenders interleaved round by round."""
    results = []
    for case in CASES:
        port = sim.ports[case.endpoint]
        contenders, planner = await _sems_contenders(case, port)
        contenders += await _pymodbus_contenders(case, port, planner)
        contenders += await _goodwe_contender(case, port)
        contenders += await _pysunspec_contender(case, port, planner)
        await planner.close()
        sim.counts()
        for round_ in range(rounds):
            shift = round_ % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                if contender.error:
                    continue
                cpu, wall = time.process_time(), time.perf_counter()
                try:
                    for _ in range(per_round):
                        await contender.refresh()
                except Exception as err:
                    contender.error = f"{type(err).__name__}: {err}"
                    continue
                contender.cpu.append((time.process_time() - cpu) / per_round)
                contender.wall.append((time.perf_counter() - wall) / per_round)
                served = sim.counts()[case.endpoint]
                contender.requests.append(served[0] / per_round)
                contender.registers.append(served[1] / per_round)
        for contender in contenders:
            await contender.close()
        baseline = next((c for c in contenders if c.baseline and c.cpu), None)
        rows = []
        for contender in contenders:
            row: dict[str, Any] = {"reader": contender.name}
            if contender.error or not contender.cpu:
                row["error"] = contender.error or "no result"
            else:
                cpu = statistics.median(contender.cpu)
                row |= {
                    "requests": statistics.median(contender.requests),
                    "registers": statistics.median(contender.registers),
                    "wall_ms": statistics.median(contender.wall) * 1e3,
                    "cpu_us": cpu * 1e6,
                    "cpu_vs_bare_pymodbus": None
                    if baseline is None
                    else cpu / statistics.median(baseline.cpu),
                }
            rows.append(row)
        sems = next(r for r in rows if r["reader"].startswith("sems PlantMonitor"))
        for row in rows:  # how the library compares with every other reader, per refresh
            if "cpu_us" in row and "cpu_us" in sems:
                row["sems_refresh_vs_this"] = sems["cpu_us"] / row["cpu_us"]
        results.append({"case": case.endpoint, "title": case.title, "rows": rows})
    return results


# -- section 2: scale ----------------------------------------------------------------------------------------


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


async def bench_scale(
    ports: Sequence[int], template: list[DeviceIdentity], window: float, slot: float = 0.0
) -> dict[str, Any]:
    """Poll ``len(ports)`` GoodWe ET endpoints every 5 s on this loop, spread over the interval; measure.

    ``slot`` > 0 starts the polls that fall due within the same ``slot`` seconds together (still spread
    over the interval, in steps of ``slot``): their requests then share the loop's wake-ups.
    """
    loop = asyncio.get_running_loop()
    count = len(ports)
    monitors = []
    for port in ports:
        client = PlantClient(Endpoint(HOST, port, TransportType.TCP, timeout=2.0))
        client.devices = template
        monitors.append(PlantMonitor(client, name=f"bench{port}", poll_interval=_interval()))
    lags: list[float] = []
    latencies: list[float] = []
    failures = 0
    measuring = False
    start = loop.time() + 0.5
    warm_until = start + POLL_INTERVAL + 1.0  # every device polled once (connect, confirm counters)
    stop_at = warm_until + window

    async def poll(index: int, monitor: PlantMonitor) -> None:
        nonlocal failures
        due = start + index * POLL_INTERVAL / count  # spread evenly over the interval
        if slot:
            due = start + (due - start) // slot * slot
        while due < stop_at:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await monitor.refresh()
            except Exception:
                failures += measuring
            if measuring:
                latencies.append(loop.time() - due)
            due += POLL_INTERVAL

    async def watch_lag() -> None:
        while loop.time() < stop_at:
            expected = loop.time() + PROBE_PERIOD
            await asyncio.sleep(PROBE_PERIOD)
            if measuring:
                lags.append(max(0.0, loop.time() - expected))

    tasks = [asyncio.create_task(poll(i, m)) for i, m in enumerate(monitors)]
    watcher = asyncio.create_task(watch_lag())  # its own wake-ups cost a little (the 0-device row)
    await asyncio.sleep(max(0.0, warm_until - loop.time()))
    measuring = True
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(max(0.0, stop_at - loop.time()))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    measuring = False
    rss = _rss_mib()
    await asyncio.gather(*tasks, watcher)
    for monitor in monitors:
        await monitor.client.close()
    return {
        "devices": count,
        "slot_ms": slot * 1e3,
        "window_s": round(wall, 1),
        "polls": len(latencies),
        "failed_polls": failures,
        "cpu_percent": 100 * cpu / wall,
        "system_cpu_percent": 100 * (after.ru_stime - before.ru_stime) / wall,  # of it, in the kernel
        "cpu_us_per_poll": cpu / len(latencies) * 1e6 if latencies else None,
        "rss_mib": rss,
        "loop_lag_p99_ms": _percentile(lags, 0.99) * 1e3,
        "loop_lag_max_ms": max(lags, default=math.nan) * 1e3,
        "poll_latency_p99_ms": _percentile(latencies, 0.99) * 1e3,
    }


# -- section 3: Home Assistant -----------------------------------------------------------------------------


def bench_home_assistant(refreshes: int) -> dict[str, Any]:
    """Run ``scripts/bench_ha.py`` under pytest (Home Assistant's test harness) against its own simulator."""
    sim = Simulator(endpoints=("goodwe_et_tcp", "sunspec_tcp"), speed=10.0)  # 0.5 s wall = one 5 s poll
    try:
        with tempfile.TemporaryDirectory(prefix="sems-bench-") as scratch:
            out = Path(scratch) / "ha.json"
            env = {
                **os.environ,
                "SEMS_BENCH_PORTS": json.dumps(sim.ports),
                "SEMS_BENCH_OUT": str(out),
                "SEMS_BENCH_REFRESHES": str(refreshes),
            }
            command = [sys.executable, "-m", "pytest", "scripts/bench_ha.py", "-q", "-p", "no:randomly"]
            command += ["--timeout", "600", "-o", "addopts=-p no:cacheprovider"]
            done = subprocess.run(
                command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0 or not out.exists():
                return {"error": (done.stdout + done.stderr)[-3000:]}
            return dict(json.loads(out.read_text(encoding="utf-8")))
    finally:
        sim.stop()


# -- section 4: the cloud uplink (optional) --------------------------------------------------------------


def bench_uplink(quick: bool) -> dict[str, Any] | None:
    """``scripts/bench_uplink.py`` when it exists (the cloud uplink's own benchmark): its ``run()`` results,
    else whatever its ``main()`` prints. None without it."""
    # >>> cloud uplink benchmark: wire-in point. scripts/bench_uplink.py provides run() -> dict and main().
    path = Path(__file__).with_name("bench_uplink.py")
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_uplink", path)
    if spec is None or spec.loader is None:
        return {"error": "cannot load scripts/bench_uplink.py"}
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        if hasattr(module, "run"):
            return dict(module.run(*([1200] if quick else [])))
        module.main([])
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return {"ran": "main()"}
    # <<< cloud uplink benchmark


# -- report ------------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> list[str]:
    """A Markdown table; columns from ``right_from`` on are right-aligned (numbers)."""
    align = ["---" if i < right_from else "---:" for i in range(len(headers))]
    return [f"| {' | '.join(line)} |" for line in (headers, align, *rows)]


def _net_cpu_us_per_poll(row: dict[str, Any], probe_percent: float) -> float | None:
    """CPU per poll without the loop-lag probe's own share (the 0-device row); None for too few polls."""
    if row["polls"] < 50:
        return None
    return max(0.0, row["cpu_percent"] - probe_percent) / 100 * row["window_s"] / row["polls"] * 1e6


def _scale_table(scale: Sequence[dict[str, Any]]) -> list[str]:
    probe = next((row["cpu_percent"] for row in scale if row["devices"] == 0), 0.0)
    lines = [
        "",
        f"**Scale**: GoodWe ET endpoints (Modbus TCP; inverter + battery + meter each) polled with "
        f"`PlantMonitor.refresh()` every {POLL_INTERVAL:g} s on one event loop, spread over the interval; "
        "the polls due within one slot start together (0: one by one); 0 devices: the loop-lag probe alone:",
        "",
    ]
    rows = [
        [
            f"{row['devices']:,}",
            _fmt(row["slot_ms"]),
            f"{row['polls']:,}",
            str(row["failed_polls"]),
            _fmt(row["cpu_percent"], 1),
            _fmt(_net_cpu_us_per_poll(row, probe)),
            _fmt(row["rss_mib"], 1),
            _fmt(row["loop_lag_p99_ms"], 1),
            _fmt(row["loop_lag_max_ms"], 1),
            _fmt(row["poll_latency_p99_ms"], 1),
        ]
        for row in scale
    ]
    headers = ["Devices", "Slot ms", "Polls", "Failed", "CPU % of one core", "CPU µs per poll¹", "RSS MiB"]
    lines += _table([*headers, "Loop lag p99 ms", "Loop lag max ms", "Poll latency p99 ms"], rows, 0)
    lines += ["", "¹ without the loop-lag probe's own CPU (the 0-device row)."]
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The report: one table per section."""
    lines = [
        f"Measured {results['when']} on {results['machine']}; the simulator runs in its own process "
        "on 127.0.0.1.",
    ]
    rows = []
    for case in results["profiles"]:
        for row in case["rows"]:
            if "error" in row:
                rows.append([case["title"], row["reader"], f"failed: {row['error'][:60]}", *[""] * 5])
                continue
            rows.append(
                [
                    case["title"],
                    row["reader"],
                    _fmt(row["requests"]),
                    _fmt(row["registers"]),
                    _fmt(row["wall_ms"], 2),
                    _fmt(row["cpu_us"]),
                    _fmt(row["cpu_vs_bare_pymodbus"], 2, "×"),
                    _fmt(row.get("sems_refresh_vs_this"), 2, "×"),
                ]
            )
    headers = ["Profile", "Reader", "Requests", "Registers", "Wall ms", "CPU µs", "CPU vs bare pymodbus"]
    if rows:
        lines += [
            "",
            "**Per full refresh** (median of interleaved rounds; CPU: this process, user + system):",
            "",
        ]
        lines += _table([*headers, "sems refresh CPU vs it"], rows, 2)
    if results["scale"]:
        lines += _scale_table(results["scale"])
    ha = results.get("home_assistant")
    if ha is not None:
        lines += [
            "",
            "**Home Assistant** (a coordinator refresh with its entities attached; 5 s of plant time apart):",
            "",
        ]
        if "error" in ha:
            lines.append(f"failed: `{ha['error'][-300:]}`")
        else:
            rows = [
                [
                    row["title"],
                    str(row["entities"]),
                    f"{row['writes_per_refresh']:.1f} of {row['writes_per_refresh_writing_all']:.0f}",
                    _fmt(row["monitor_refresh_cpu_us"]),
                    _fmt(row["coordinator_refresh_cpu_us"]),
                    _fmt(row["ha_side_cpu_us"]),
                    _fmt(row["coordinator_refresh_writing_all_cpu_us"]),
                    _fmt(row["ha_side_writing_all_cpu_us"]),
                ]
                for row in ha["entries"]
            ]
            headers = ["Entry", "Entities", "State writes per refresh", "Library refresh CPU µs"]
            headers += ["Coordinator refresh CPU µs", "HA side µs"]
            headers += ["Same, every entity writing: CPU µs", "HA side µs"]
            lines += _table(headers, rows, 1)
    uplink = results.get("uplink")
    if uplink is not None:
        lines += [
            "",
            "**Cloud uplink** (`scripts/bench_uplink.py`):",
            "",
            "```",
            json.dumps(uplink, indent=2),
        ]
        lines.append("```")
    return "\n".join(lines)


async def _client_sections(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    if args.scale:
        scales = tuple((devices, args.slot) for devices in args.scale)
    else:
        scales = QUICK_SCALES if quick else SCALES
    results: dict[str, Any] = {"profiles": [], "scale": []}
    if "profiles" in args.only:
        sim = Simulator(endpoints=[c.endpoint for c in CASES])
        try:
            rounds, per_round = (5, 20) if quick else (15, 50)
            results["profiles"] = await bench_profiles(sim, rounds, per_round)
        finally:
            sim.stop()
    most = max(devices for devices, _ in scales)
    if "scale" not in args.only or not most:
        return results
    scale_sim = Simulator(scale=most)
    try:
        probe = PlantClient(Endpoint(HOST, scale_sim.scale_ports[0], TransportType.TCP, timeout=2.0))
        async with probe:
            template = await probe.probe()
        results["scale"] = []
        for devices, slot in scales:
            window = args.window or (10.0 if quick else 30.0)
            print(
                f"scale: {devices} devices, {slot:g} ms slots, {window:g} s ...", file=sys.stderr, flush=True
            )
            ports = scale_sim.scale_ports[:devices]
            results["scale"].append(await bench_scale(ports, template, window, slot / 1e3))
    finally:
        scale_sim.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the Markdown report and write the JSON results."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("--speed", type=float, default=1.0)
    serve.add_argument("--start", default=SUNNY_NOON)
    serve.add_argument("--scale", type=int, default=0)
    serve.add_argument("--endpoints", nargs="*", default=[])
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds, up to 50 devices")
    parser.add_argument("--scale", type=int, nargs="*", help="device counts of the scale section")
    parser.add_argument(
        "--slot",
        type=float,
        default=50.0,
        help="with --scale: start the polls due within the same this many ms together (0: one by one)",
    )
    parser.add_argument("--window", type=float, help="seconds measured per scale step (default 30, quick 10)")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="run only these sections (default: all)",
    )
    parser.add_argument("--json", default=str(REPO_ROOT / "bench-results.json"), help="where to write JSON")
    parser.add_argument("--report", metavar="JSON", help="only print the report of an earlier run's JSON")
    args = parser.parse_args(argv)
    if args.report:
        print(markdown(json.loads(Path(args.report).read_text(encoding="utf-8"))))
        return 0
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))  # 1,000 connections
    results: dict[str, Any] = {
        "when": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        "quick": args.quick,
    }
    results |= asyncio.run(_client_sections(args))
    if "ha" in args.only:
        print("home assistant ...", file=sys.stderr, flush=True)
        results["home_assistant"] = bench_home_assistant(10 if args.quick else 20)
    if "uplink" in args.only:
        results["uplink"] = bench_uplink(args.quick)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    print(f"\n(JSON: {args.json})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
