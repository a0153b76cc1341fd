"""What a Meshtastic node keeps in flash: owner, channels, radio and module config, node database.

Values are those a stock node ships with (firmware ``src/mesh/Default.h``, ``NodeDB::installDefault*``)
except where floodmesh sets them: the region, the channels and the node's own names. Everything is
derived from the node number, so two runs of one scenario present identical radios.
"""

import hashlib
from dataclasses import dataclass, field

from meshtastic.protobuf import channel_pb2, config_pb2, localonly_pb2, mesh_pb2

MAX_NUM_CHANNELS = 8  # firmware ChannelFile: 8 slots, the unused ones DISABLED
DEFAULT_PSK = b"\x01"  # "AQ==": Meshtastic's well-known default key number 1 (the public LongFast channel)
MIN_APP_VERSION = 30200
FIRMWARE_VERSION = "2.7.11.floodmesh-sim"
DEVICE_STATE_VERSION = 24
_Preset = config_pb2.Config.LoRaConfig.ModemPreset
_Region = config_pb2.Config.LoRaConfig.RegionCode
_Role = config_pb2.Config.DeviceConfig.Role


@dataclass(frozen=True)
class ChannelSpec:
    """One configured channel: its name and pre-shared key (1 byte = a default key index, 16/32 = AES)."""

    name: str
    psk: bytes


@dataclass(frozen=True)
class KnownNode:
    """Another node in this radio's node database, as heard over the mesh."""

    num: int
    long_name: str
    short_name: str
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: int = 0
    public_key: bytes = b""
    role: int = _Role.CLIENT
    hops_away: int = 0
    snr: float = 0.0
    last_heard: int = 0

    def node_info(self) -> mesh_pb2.NodeInfo:
        """This node as a ``NodeInfo`` record (what the handshake sends for it)."""
        info = mesh_pb2.NodeInfo(num=self.num, user=_user(self.num, self.long_name, self.short_name,
                                                           self.role, self.public_key),
                                 snr=self.snr, last_heard=self.last_heard, hops_away=self.hops_away)
        if self.latitude is not None and self.longitude is not None:
            info.position.CopyFrom(mesh_pb2.Position(
                latitude_i=round(self.latitude * 1e7), longitude_i=round(self.longitude * 1e7),
                altitude=self.altitude_m, time=self.last_heard,
                location_source=mesh_pb2.Position.LocSource.LOC_MANUAL))
        return info


@dataclass
class DeviceState:
    """The simulated node's own state; the handshake and admin answers read it, admin setters write it."""

    node_num: int
    owner: mesh_pb2.User
    channels: list[channel_pb2.Channel]
    config: localonly_pb2.LocalConfig
    module_config: localonly_pb2.LocalModuleConfig
    nodes: dict[int, KnownNode] = field(default_factory=dict)
    reboot_count: int = 0

    def my_info(self) -> mesh_pb2.MyNodeInfo:
        """``MyNodeInfo`` as the firmware fills it (device id, build, node DB size)."""
        return mesh_pb2.MyNodeInfo(my_node_num=self.node_num, reboot_count=self.reboot_count,
                                   min_app_version=MIN_APP_VERSION, device_id=_derived(self.node_num, b"id", 16),
                                   pio_env="floodmesh-sim", nodedb_count=1 + len(self.nodes))

    def own_node_info(self) -> mesh_pb2.NodeInfo:
        """Our own entry of the node DB: sent first, marked favourite, without ``hops_away``."""
        return mesh_pb2.NodeInfo(num=self.node_num, user=self.owner, is_favorite=True)

    def metadata(self) -> mesh_pb2.DeviceMetadata:
        """``DeviceMetadata``: firmware version, capabilities, role and hardware model."""
        return mesh_pb2.DeviceMetadata(
            firmware_version=FIRMWARE_VERSION, device_state_version=DEVICE_STATE_VERSION, canShutdown=True,
            hasWifi=False, hasBluetooth=False, hasEthernet=False, role=self.config.device.role,
            position_flags=self.config.position.position_flags, hw_model=mesh_pb2.HardwareModel.PORTDUINO,
            hasPKC=True)

    def channel(self, index: int) -> channel_pb2.Channel | None:
        """The channel in slot ``index`` (0..7), or None outside the table."""
        return self.channels[index] if 0 <= index < len(self.channels) else None

    def public_key_of(self, num: int) -> bytes:
        """The public key this node knows for ``num`` (empty if none)."""
        if num == self.node_num:
            return bytes(self.owner.public_key)
        known = self.nodes.get(num)
        return known.public_key if known is not None else b""


def default_device_state(node_num: int, channels: list[ChannelSpec] | None = None,
                         long_name: str | None = None, short_name: str = "FMGW",
                         nodes: list[KnownNode] | None = None) -> DeviceState:
    """A node as floodmesh installs it: ``channels`` (primary first; default: the public primary and
    a private ``floodmesh`` secondary with a 32-byte key), on the SG_923 region, LONG_FAST."""
    specs = channels if channels is not None else [
        ChannelSpec("", DEFAULT_PSK), ChannelSpec("floodmesh", _derived(node_num, b"psk", 32))]
    if not 1 <= len(specs) <= MAX_NUM_CHANNELS:
        raise ValueError(f"a node has 1 to {MAX_NUM_CHANNELS} channels, got {len(specs)}: drop some")
    public_key = _derived(node_num, b"pub", 32)
    me = f"!{node_num:08x}"
    owner = _user(node_num, long_name or f"floodmesh gateway radio {me}", short_name, _Role.CLIENT, public_key)
    return DeviceState(node_num=node_num, owner=owner, channels=_channel_table(specs),
                       config=_default_config(public_key), module_config=_default_module_config(),
                       nodes={n.num: n for n in nodes or []})


def _user(num: int, long_name: str, short_name: str, role: int, public_key: bytes) -> mesh_pb2.User:
    return mesh_pb2.User(id=f"!{num:08x}", long_name=long_name, short_name=short_name,
                         macaddr=num.to_bytes(6, "big"), hw_model=mesh_pb2.HardwareModel.PORTDUINO,
                         role=role, public_key=public_key)


def _channel_table(specs: list[ChannelSpec]) -> list[channel_pb2.Channel]:
    table = []
    for index in range(MAX_NUM_CHANNELS):
        channel = channel_pb2.Channel(index=index, role=channel_pb2.Channel.Role.DISABLED)
        if index < len(specs):
            channel.role = channel_pb2.Channel.Role.PRIMARY if index == 0 else channel_pb2.Channel.Role.SECONDARY
            channel.settings.CopyFrom(channel_pb2.ChannelSettings(name=specs[index].name, psk=specs[index].psk))
        table.append(channel)
    return table


def _default_config(public_key: bytes) -> localonly_pb2.LocalConfig:
    cfg = localonly_pb2.LocalConfig(version=DEVICE_STATE_VERSION)
    cfg.device.role = _Role.CLIENT
    cfg.device.node_info_broadcast_secs = 3 * 60 * 60
    cfg.position.position_broadcast_secs = 15 * 60
    cfg.position.position_broadcast_smart_enabled = True
    cfg.position.gps_update_interval = 2 * 60
    cfg.position.position_flags = 811  # ALTITUDE|ALTITUDE_MSL|DOP|SATINVIEW|SEQ_NO|TIMESTAMP: the app's default
    cfg.power.wait_bluetooth_secs = 60
    cfg.power.sds_secs = 0xFFFFFFFF
    cfg.power.ls_secs = 300
    cfg.power.min_wake_secs = 10
    cfg.network.ntp_server = "meshtastic.pool.ntp.org"
    cfg.display.screen_on_secs = 600
    # The firmware's region table has no VN entry; SG_923 (917-925 MHz) covers Vietnam's 920-923 MHz band.
    cfg.lora.use_preset = True
    cfg.lora.modem_preset = _Preset.LONG_FAST
    cfg.lora.region = _Region.SG_923
    cfg.lora.hop_limit = 3
    cfg.lora.tx_enabled = True
    cfg.lora.tx_power = 20
    cfg.lora.sx126x_rx_boosted_gain = True
    cfg.bluetooth.enabled = False
    cfg.bluetooth.mode = config_pb2.Config.BluetoothConfig.PairingMode.RANDOM_PIN
    cfg.security.public_key = public_key  # the private key never leaves a node in this simulation
    cfg.security.serial_enabled = True
    return cfg


def _default_module_config() -> localonly_pb2.LocalModuleConfig:
    mod = localonly_pb2.LocalModuleConfig(version=DEVICE_STATE_VERSION)
    mod.mqtt.address = "mqtt.meshtastic.org"
    mod.mqtt.root = "msh"
    mod.mqtt.encryption_enabled = True
    mod.telemetry.device_update_interval = 30 * 60
    mod.neighbor_info.update_interval = 6 * 60 * 60
    mod.detection_sensor.minimum_broadcast_secs = 45
    mod.range_test.sender = 0
    return mod


def _derived(node_num: int, purpose: bytes, size: int) -> bytes:
    """Deterministic per-node bytes (stand-ins for keys and ids a real node generates at first boot)."""
    return hashlib.sha256(b"floodmesh-sim/" + purpose + node_num.to_bytes(4, "big")).digest()[:size]
