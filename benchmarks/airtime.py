"""LoRa airtime per water-level reading against Meshtastic's own telemetry, and node battery life.

Airtime is Semtech's SX127x/SX126x time-on-air formula (AN1200.13) for a Meshtastic modem preset:
16-symbol preamble, explicit header, CRC on, and Meshtastic's 16-byte packet header in front of the
(AES-CTR, so same-length) ``Data`` protobuf. Both sides are built with the real ``meshtastic``
protobufs. The baseline is Meshtastic's environment-telemetry packet carrying the same reading
(``EnvironmentMetrics.distance``) and nothing else -- the most favourable case for Meshtastic.

Battery life: the ESP32's awake time per cycle is its firmware work timed on the MicroPython unix
port (as a proxy, scaled by ``ESP32_SLOWDOWN``) plus fixed costs (wake and imports, the ping train,
the UART exchange) plus, per report, the radio session: through the power-gated radio's boot the
deep-sleeping sensor light-sleeps (firmware/main.py ``machine.lightsleep``), through the listening
window it is awake polling the UART; the SOS button polls through both (it must read presses).
Readings go ``BATCH`` to a frame in calm water (interval >= 300 s; a shorter interval from central's
adaptive reporting, or a fast rise, sends each at once: the unbatched figure). Currents are datasheet
figures, listed in the result's ``assumptions``. ``models_config`` is the water-level
node's config.json the figures hold for (firmware/main.py, edge_nodes/provision.py).
"""

import math
import subprocess
import sys
import time
from pathlib import Path

from meshtastic.protobuf import mesh_pb2, portnums_pb2, telemetry_pb2

from firmware.mesh_link import PORT
from firmware.water_level import WaterLevelSensor
from protocol import frames

# name -> (spreading factor, bandwidth Hz, coding rate denominator 5..8)
PRESETS = {
    "SHORT_FAST": (7, 250_000, 5),
    "SHORT_SLOW": (8, 250_000, 5),
    "MEDIUM_FAST": (9, 250_000, 5),
    "MEDIUM_SLOW": (10, 250_000, 5),
    "LONG_FAST": (11, 250_000, 5),
    "LONG_MODERATE": (11, 125_000, 8),
    "LONG_SLOW": (12, 125_000, 8),
}
PREAMBLE_SYMBOLS = 16
MESHTASTIC_HEADER = 16
BATCH = 12  # readings per frame in calm water (an hour of 5-minute readings; edge_nodes/provision.py)
REPORT_S = 300
BATTERY_MAH = 3000
USABLE = 0.85  # cut-off voltage and ageing: 85 % of the label
SELF_DISCHARGE_PER_MONTH = 0.02  # Li-ion, ~2 %/month at 25 degC
HOURS_PER_MONTH = 730.0
ESP32_SLOWDOWN = 40  # a 160 MHz Xtensa running bytecode vs this host's unix port (conservative)

# Datasheet currents (mA) and fixed times (s).
I_ESP32_ACTIVE = 40.0  # ESP32 CPU at 80-160 MHz, radios off (datasheet: 20-68 mA)
I_ESP32_LIGHT_SLEEP = 0.8  # light sleep, CPU paused, RTC timer wake (datasheet: 0.8 mA)
I_ESP32_DEEP_SLEEP = 0.010  # RTC timer + RTC memory
I_QUIESCENT = 0.006  # LDO (HT7333 ~4 uA) + 1 MOhm battery divider
I_SONAR = 8.0  # JSN-SR04T while ranging
I_RADIO_AWAKE = 8.0  # Meshtastic radio (nRF52840 + SX1262) booted and listening (SX1262 RX 4.6-5.3 mA)
I_RADIO_TX = 118.0  # SX1262 at +22 dBm
T_WAKE_S = 0.25  # deep-sleep wake, MicroPython init, importing the .mpy modules
T_PINGS_S = 5 * 0.060  # five pings 60 ms apart (firmware/board.py)
T_UART_S = 0.010  # ToRadio out, QueueStatus back at 115200 baud
T_RADIO_BOOT_S = 2.0  # power-gated Meshtastic radio boots before it can send
T_RADIO_LISTEN_S = 3.0  # listens for the routing ACK and queued downlinks, then is cut again
BUTTON_STATUS_PER_DAY = 1  # the idle button says it is alive once a day


def airtime_s(payload_bytes: int, preset: str = "LONG_FAST") -> float:
    """Time on air of one LoRa packet of ``payload_bytes`` (Meshtastic header included)."""
    sf, bw, cr = PRESETS[preset]
    t_sym = (1 << sf) / bw
    de = 1 if t_sym > 0.016 else 0  # low-data-rate optimisation, mandated above 16 ms symbols
    num = 8 * payload_bytes - 4 * sf + 28 + 16  # CRC on, explicit header
    n_payload = 8 + max(math.ceil(num / (4 * (sf - 2 * de))) * cr, 0)
    return (PREAMBLE_SYMBOLS + 4.25 + n_payload) * t_sym


def _data_bytes(portnum: int, payload: bytes) -> int:
    # bitfield (ok_to_mqtt) is set by the radio firmware on every packet it originates: both sides pay it.
    return len(mesh_pb2.Data(portnum=portnum, payload=payload, bitfield=1).SerializeToString())


def our_reading_frame() -> bytes:
    """A water-level frame exactly as the firmware builds it."""
    sensor = WaterLevelSensor(0x0A000001, bytes(16), 1)
    return bytes(sensor.sample(1_700_000_000, 2350, 87)[0])


def our_batch_frame(n: int = BATCH) -> bytes:
    """A WaterLevelBatch frame of ``n`` readings exactly as the firmware builds it."""
    sensor = WaterLevelSensor(0x0A000001, bytes(16), 1, batch=n)
    sensor.sample(1_700_000_000, 2350, 87)  # the first reading after boot goes alone
    out: list[bytes] = []
    for i in range(1, n + 1):
        out += sensor.sample(1_700_000_000 + REPORT_S * i, 2350 - i, 87)
    (frame,) = out
    if frames.decode(frame, bytes(16)).kind != "water_level_batch":
        raise AssertionError("the firmware did not batch")
    return bytes(frame)


def meshtastic_env_telemetry() -> bytes:
    """Meshtastic's environment telemetry carrying the same distance reading."""
    env = telemetry_pb2.EnvironmentMetrics(distance=2350.0)
    t = telemetry_pb2.Telemetry(time=1_700_000_000, environment_metrics=env)
    return bytes(t.SerializeToString())


def meshtastic_device_telemetry() -> bytes:
    """Meshtastic's device telemetry (battery), as its firmware fills it."""
    d = telemetry_pb2.DeviceMetrics(battery_level=87, voltage=3.98, channel_utilization=4.5, air_util_tx=0.6,
                                    uptime_seconds=86_400)
    return bytes(telemetry_pb2.Telemetry(time=1_700_000_000, device_metrics=d).SerializeToString())


def _mp_cycle_us() -> float:
    """Microseconds per reading cycle (sample, HMAC, ToRadio encoding) on the MicroPython unix port."""
    root = Path(__file__).resolve().parents[1]
    mp = Path(sys.executable).parent / "micropython"
    script = f"BATCH = {BATCH}\n" + (
        "import sys, time\nsys.path.insert(0, '.')\n"
        "from firmware.water_level import WaterLevelSensor\nfrom firmware.mesh_link import MeshLink\n"
        "w = WaterLevelSensor(1, bytes(16), 1, interval_s=300, batch=BATCH)\nl = MeshLink()\nn = 300\n"
        "t = time.ticks_us()\nfor i in range(n):\n    for f in w.sample(1700000000 + 300 * i, 2000, 80):\n"
        "        l.packet(f)\n"
        "print(time.ticks_diff(time.ticks_us(), t) / n)\n"
    )
    out = subprocess.run([str(mp), "-c", script], cwd=root, capture_output=True, text=True, timeout=120, check=True)
    return float(out.stdout.strip())


def _months(avg_ma: float) -> float:
    per_month = avg_ma * HOURS_PER_MONTH + SELF_DISCHARGE_PER_MONTH * BATTERY_MAH
    return BATTERY_MAH * USABLE / per_month


def run() -> dict[str, object]:
    """The airtime and battery figures, one dict (``python -m benchmarks airtime``)."""
    started = time.perf_counter()
    overhead = MESHTASTIC_HEADER
    ours_single = overhead + _data_bytes(PORT, our_reading_frame())
    ours_batch = overhead + _data_bytes(PORT, our_batch_frame(BATCH))
    env = overhead + _data_bytes(portnums_pb2.TELEMETRY_APP, meshtastic_env_telemetry())
    dev = overhead + _data_bytes(portnums_pb2.TELEMETRY_APP, meshtastic_device_telemetry())
    t_single, t_batch = airtime_s(ours_single), airtime_s(ours_batch) / BATCH
    t_env, t_dev = airtime_s(env), airtime_s(dev)

    cycle_us = _mp_cycle_us()
    esp_awake_s = T_WAKE_S + T_PINGS_S + T_UART_S + cycle_us * ESP32_SLOWDOWN / 1e6
    per_reading_mas = esp_awake_s * I_ESP32_ACTIVE + T_PINGS_S * I_SONAR
    # The radio boots, then listens: the sensor's ESP32 light-sleeps through the boot (nothing to do
    # till the radio can talk), then polls the UART every 20 ms awake. The button polls through both.
    radio_mas = (T_RADIO_BOOT_S * (I_RADIO_AWAKE + I_ESP32_LIGHT_SLEEP)
                 + T_RADIO_LISTEN_S * (I_RADIO_AWAKE + I_ESP32_ACTIVE))
    button_radio_mas = (T_RADIO_BOOT_S + T_RADIO_LISTEN_S) * (I_RADIO_AWAKE + I_ESP32_ACTIVE)
    sleep_ma = I_ESP32_DEEP_SLEEP + I_QUIESCENT
    batched_ma = (per_reading_mas + (radio_mas + airtime_s(ours_batch) * I_RADIO_TX) / BATCH) / REPORT_S + sleep_ma
    single_ma = (per_reading_mas + radio_mas + t_single * I_RADIO_TX) / REPORT_S + sleep_ma
    button_ma = sleep_ma + BUTTON_STATUS_PER_DAY * (
        (T_WAKE_S + T_UART_S) * I_ESP32_ACTIVE + button_radio_mas + airtime_s(overhead + 5 + 27) * I_RADIO_TX
    ) / 86_400
    return {
        "name": "airtime",
        "preset": "LONG_FAST",
        "airtime_ratio_vs_meshtastic": round(t_batch / t_env, 3),
        "airtime_ratio_single_frame": round(t_single / t_env, 3),
        "airtime_ratio_vs_meshtastic_env_plus_device": round(t_batch / (t_env + t_dev), 3),
        "bytes_on_air": {"ours_single": ours_single, f"ours_batch_{BATCH}": ours_batch,
                         "meshtastic_env": env, "meshtastic_device": dev},
        "airtime_ms": {"ours_single": round(t_single * 1e3, 1), "ours_per_reading_batched": round(t_batch * 1e3, 1),
                       "meshtastic_env": round(t_env * 1e3, 1), "meshtastic_device": round(t_dev * 1e3, 1)},
        "mp_unix_cycle_us": round(cycle_us, 1),
        "esp32_awake_ms_per_reading": round(esp_awake_s * 1e3, 1),
        "water_node_avg_ua": round(batched_ma * 1e3, 1),
        "water_node_battery_months": round(_months(batched_ma), 1),
        "water_node_battery_months_unbatched": round(_months(single_ma), 1),
        "button_standby_years": round(_months(button_ma) / 12, 2),
        "models_config": {"kind": "water_level", "interval_s": REPORT_S, "deep_sleep": True, "batch": BATCH,
                          "radio_power_pin": "set (radio behind a load switch)",
                          "radio_boot_ms": round(T_RADIO_BOOT_S * 1000), "listen_ms": round(T_RADIO_LISTEN_S * 1000)},
        "assumptions": {"battery_mah": BATTERY_MAH, "usable": USABLE,
                        "self_discharge_per_month": SELF_DISCHARGE_PER_MONTH, "report_s": REPORT_S,
                        "batch": BATCH, "esp32_slowdown_vs_unix_port": ESP32_SLOWDOWN,
                        "radio": "power-gated between reports: boot 2 s + listen 3 s at 8 mA, TX 118 mA",
                        "esp32_during_radio_session": "sensor: light sleep at 0.8 mA through the radio's 2 s "
                        "boot, active at 40 mA through the 3 s listen; button: active at 40 mA through both",
                        "batching": "calm water only (interval >= 300 s); shorter intervals and fast rises "
                        "send each reading at once: water_node_battery_months_unbatched"},
        "seconds": round(time.perf_counter() - started, 2),
    }
