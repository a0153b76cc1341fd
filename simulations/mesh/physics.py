"""LoRa physics for the mesh model: modem presets, time on air, path loss, link budget and shadowing.

Everything here is a pure function over data. The facts and their sources are in
``../shared/design/MESH-SIM.md``; where the current Meshtastic firmware (``src/mesh/RadioInterface.*``)
differs from the older simulator that document summarises, the firmware wins and the docstring says so.
"""

import math
import random
from dataclasses import dataclass
from typing import Literal

NOISE_FLOOR_DBM = -119.25  # thermal noise in 250 kHz plus the SX126x noise figure (Meshtasticator)
CAPTURE_THRESHOLD_DB = 6.0  # the stronger of two overlapping frames survives if at least this much stronger
CAD_MARGIN_DB = 3.0  # channel-activity detection works this far below the decoding sensitivity
PREAMBLE_SYMBOLS = 16  # Meshtastic uses 16, not LoRa's default 8 (RadioInterface.h preambleLength)
MESHTASTIC_HEADER_BYTES = 16  # PacketHeader in front of every encrypted Data (RadioInterface.h)
LOCKING_PREAMBLE_SYMBOLS = 5  # a receiver needs the last ~5 preamble symbols to lock onto a frame


@dataclass(frozen=True)
class ModemPreset:
    """One Meshtastic modem preset: spreading factor, bandwidth, coding rate 4/cr and sensitivity."""

    name: str
    spreading_factor: int
    bandwidth_hz: int
    coding_rate: int  # the denominator: 5..8 for 4/5..4/8
    sensitivity_dbm: float

    @property
    def symbol_s(self) -> float:
        """Duration of one LoRa symbol, 2^SF / BW."""
        return float(1 << self.spreading_factor) / self.bandwidth_hz


# Meshtastic's presets (firmware src/mesh/MeshRadio.h). Sensitivities of SHORT_FAST, MEDIUM_FAST and the
# LONG presets are the Meshtasticator's (MESH-SIM.md); the others are interpolated at 2.5 dB per SF step.
PRESETS: dict[str, ModemPreset] = {
    p.name: p
    for p in (
        ModemPreset("SHORT_TURBO", 7, 500_000, 5, -118.5),
        ModemPreset("SHORT_FAST", 7, 250_000, 5, -121.5),
        ModemPreset("SHORT_SLOW", 8, 250_000, 5, -124.0),
        ModemPreset("MEDIUM_FAST", 9, 250_000, 5, -126.5),
        ModemPreset("MEDIUM_SLOW", 10, 250_000, 5, -129.0),
        ModemPreset("LONG_FAST", 11, 250_000, 5, -131.5),
        ModemPreset("LONG_MODERATE", 11, 125_000, 8, -134.5),
        ModemPreset("LONG_SLOW", 12, 125_000, 8, -137.0),
    )
}


def time_on_air_s(
    payload_bytes: int,
    preset: ModemPreset,
    *,
    with_meshtastic_header: bool = True,
    preamble_symbols: int = PREAMBLE_SYMBOLS,
) -> float:
    """Time on air of one frame (Semtech AN1200.13): explicit header, CRC on, 16-symbol preamble.

    ``payload_bytes`` is what Meshtastic encrypts (the ``Data`` protobuf); its 16-byte header is added
    unless ``with_meshtastic_header`` is false. The coding rate enters as CR = 1..4 (the term is
    ``CR + 4`` = 5..8); the older simulator put 5..8 in for CR and overestimated airtime 1.5-1.8x.
    """
    size = payload_bytes + (MESHTASTIC_HEADER_BYTES if with_meshtastic_header else 0)
    sf = preset.spreading_factor
    t_sym = preset.symbol_s
    low_data_rate = 1 if t_sym > 0.016 else 0  # mandatory above 16 ms symbols
    numerator = 8 * size - 4 * sf + 28 + 16  # + 16 for the CRC, - 20*IH with IH = 0 (explicit header)
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * low_data_rate))) * preset.coding_rate, 0)
    return (preamble_symbols + 4.25 + payload_symbols) * t_sym


def slot_time_s(preset: ModemPreset) -> float:
    """Contention slot: channel-activity detection plus propagation, turnaround and MAC time.

    Current firmware (``computeSlotTimeMsec``): CAD lasts NUM_SYM_CAD + 0.5 = 2.5 symbols on SX126x
    (RadioLib >= 6.3, AN1200.48), plus 0.2 + 0.4 + 7 ms: 28 ms on LONG_FAST. The 8.5-symbol CAD of older
    firmware (77 ms on LONG_FAST) is what ``MESH-SIM.md`` quotes.
    """
    return 2.5 * preset.symbol_s + (0.2 + 0.4 + 7.0) / 1000.0


def locking_time_s(preset: ModemPreset) -> float:
    """How far into a frame an earlier interferer may last and still let the receiver lock onto it."""
    return (PREAMBLE_SYMBOLS - LOCKING_PREAMBLE_SYMBOLS) * preset.symbol_s


@dataclass(frozen=True)
class Region:
    """A regulatory region: band, transmit-power limit and duty cycle (Meshtastic's region table, as data)."""

    name: str
    freq_start_mhz: float
    freq_end_mhz: float
    power_limit_dbm: float
    duty_cycle_percent: float  # 100 = unlimited
    duty_cycle_above_dbm: float | None = None  # the limit applies only to transmitters above this power

    @property
    def centre_hz(self) -> float:
        """Centre frequency of the band, where the model puts the one channel."""
        return (self.freq_start_mhz + self.freq_end_mhz) / 2 * 1e6

    def duty_cycle_for(self, tx_power_dbm: float) -> float:
        """Duty-cycle limit (percent) for a transmitter of this power."""
        if self.duty_cycle_above_dbm is not None and tx_power_dbm <= self.duty_cycle_above_dbm:
            return 100.0
        return self.duty_cycle_percent


REGIONS: dict[str, Region] = {
    # Meshtastic's KR entry (RadioInterface.cpp RDEF(KR, 920.0, 923.0, 100, 23, ...)): the nearest to Vietnam.
    "KR": Region("KR", 920.0, 923.0, 23.0, 100.0),
    # Vietnam, Circular 08/2021/TT-BTTTT: 920-923 MHz, <= 25 mW ERP, duty cycle <= 1 % above 10 mW.
    "VN": Region("VN", 920.0, 923.0, 14.0, 1.0, duty_cycle_above_dbm=10.0),
}

TerrainName = Literal["urban", "suburban", "open"]


@dataclass(frozen=True)
class Terrain:
    """A propagation environment: the 3GPP macro-cell (Hata) correction C, or LoRaSim's log-distance fit."""

    name: TerrainName
    hata_c_db: float | None  # None: log-distance model instead of Hata

    def path_loss_db(self, distance_m: float, freq_hz: float, height_a_m: float, height_b_m: float) -> float:
        """Median path loss between two antennas ``distance_m`` apart (never below 1 m); reciprocal.

        Hata's formula has a base-station height and a mobile height, not a sender and a receiver: fed
        (h_tx, h_rx) per direction it makes a roof-to-street link ~35 dB better one way than the other.
        Radio links are reciprocal, so the higher antenna is the base and the lower one the mobile
        (kept within the formula's 1-10 m mobile range).
        """
        d = max(distance_m, 1.0)
        if self.hata_c_db is None:
            return 127.41 + 10 * 2.08 * math.log10(d / 40.0)
        base = max(height_a_m, height_b_m)
        mobile = min(max(min(height_a_m, height_b_m), 1.0), 10.0)
        return (
            (44.9 - 6.55 * math.log10(base)) * (math.log10(d) - 3)
            + 45.5
            + (35.46 - 1.1 * mobile) * (math.log10(freq_hz) - 6)
            - 13.82 * math.log10(base)
            + 0.7 * mobile
            + self.hata_c_db
        )


TERRAINS: dict[TerrainName, Terrain] = {
    "urban": Terrain("urban", 3.0),
    "suburban": Terrain("suburban", 0.0),  # the Meshtasticator's default
    "open": Terrain("open", None),  # LoRaSim's open-country constants
}


def snr_db(rssi_dbm: float) -> float:
    """Signal-to-noise ratio of a frame received at ``rssi_dbm``."""
    return rssi_dbm - NOISE_FLOOR_DBM


def draw_shadowing_db(rng: random.Random, sigma_db: float) -> float:
    """One static log-normal shadowing offset for a directed link (drawn once per run from the seed)."""
    return rng.gauss(0.0, sigma_db)
