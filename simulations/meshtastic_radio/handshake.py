"""The config handshake a node answers ``want_config_id`` with, in the firmware's order.

Firmware ``src/mesh/PhoneAPI.cpp`` (``getFromRadio`` state machine): MY_INFO, UIDATA, OWN_NODEINFO,
METADATA, CHANNELS (all 8 slots, DISABLED ones included), CONFIG (one ``Config`` per ``ConfigType``
up to the session key), MODULECONFIG (one ``ModuleConfig`` per ``ModuleConfigType``), OTHER_NODEINFOS,
then ``config_complete_id`` echoing the nonce. Two nonces are special: 69420 sends config without the
other nodes, 69421 sends only the nodes. Newer firmware also sends a region/preset map, which the
protobufs of the client we run against do not know; it is left out.
"""

from collections.abc import Iterator

from meshtastic.protobuf import admin_pb2, config_pb2, mesh_pb2, module_config_pb2

from simulations.meshtastic_radio.device_state import DeviceState

SPECIAL_NONCE_ONLY_CONFIG = 69420
SPECIAL_NONCE_ONLY_NODES = 69421

# ConfigType / ModuleConfigType name -> field of Config / ModuleConfig (firmware's switch statements).
_CONFIG_FIELDS = {
    "DEVICE_CONFIG": "device", "POSITION_CONFIG": "position", "POWER_CONFIG": "power",
    "NETWORK_CONFIG": "network", "DISPLAY_CONFIG": "display", "LORA_CONFIG": "lora",
    "BLUETOOTH_CONFIG": "bluetooth", "SECURITY_CONFIG": "security", "SESSIONKEY_CONFIG": "sessionkey",
}
_MODULE_FIELDS = {
    "MQTT_CONFIG": "mqtt", "SERIAL_CONFIG": "serial", "EXTNOTIF_CONFIG": "external_notification",
    "STOREFORWARD_CONFIG": "store_forward", "RANGETEST_CONFIG": "range_test", "TELEMETRY_CONFIG": "telemetry",
    "CANNEDMSG_CONFIG": "canned_message", "AUDIO_CONFIG": "audio", "REMOTEHARDWARE_CONFIG": "remote_hardware",
    "NEIGHBORINFO_CONFIG": "neighbor_info", "AMBIENTLIGHTING_CONFIG": "ambient_lighting",
    "DETECTIONSENSOR_CONFIG": "detection_sensor", "PAXCOUNTER_CONFIG": "paxcounter",
    "STATUSMESSAGE_CONFIG": "statusmessage", "TRAFFICMANAGEMENT_CONFIG": "traffic_management",
    "TAK_CONFIG": "tak",
}


def config_sequence(state: DeviceState, nonce: int) -> Iterator[mesh_pb2.FromRadio]:
    """Every ``FromRadio`` a node sends for ``want_config_id = nonce``, ending with ``config_complete_id``."""
    yield mesh_pb2.FromRadio(my_info=state.my_info())
    yield mesh_pb2.FromRadio(deviceuiConfig={})
    yield mesh_pb2.FromRadio(node_info=state.own_node_info())
    if nonce != SPECIAL_NONCE_ONLY_NODES:
        yield mesh_pb2.FromRadio(metadata=state.metadata())
        for channel in state.channels:
            yield mesh_pb2.FromRadio(channel=channel)
        for config_type in admin_pb2.AdminMessage.ConfigType.keys():
            config = config_of(state, admin_pb2.AdminMessage.ConfigType.Value(config_type))
            if config is not None:
                yield mesh_pb2.FromRadio(config=config)
        for module_type in admin_pb2.AdminMessage.ModuleConfigType.keys():
            module = module_config_of(state, admin_pb2.AdminMessage.ModuleConfigType.Value(module_type))
            if module is not None:
                yield mesh_pb2.FromRadio(moduleConfig=module)
    if nonce != SPECIAL_NONCE_ONLY_CONFIG:
        for known in state.nodes.values():
            yield mesh_pb2.FromRadio(node_info=known.node_info())
    yield mesh_pb2.FromRadio(config_complete_id=nonce)


def config_of(state: DeviceState, config_type: int) -> config_pb2.Config | None:
    """One section of the radio config as a ``Config`` (None for a type this node does not serve)."""
    name = _CONFIG_FIELDS.get(admin_pb2.AdminMessage.ConfigType.Name(config_type))
    if name is None:
        return None
    config = config_pb2.Config()
    if name in state.config.DESCRIPTOR.fields_by_name:
        getattr(config, name).CopyFrom(getattr(state.config, name))
    else:  # the session key section is empty on the wire: it only names the admin session's key slot
        getattr(config, name).SetInParent()
    return config


def module_config_of(state: DeviceState, module_type: int) -> module_config_pb2.ModuleConfig | None:
    """One module's config as a ``ModuleConfig`` (None for a type this node does not serve)."""
    name = _MODULE_FIELDS.get(admin_pb2.AdminMessage.ModuleConfigType.Name(module_type))
    if name is None or name not in state.module_config.DESCRIPTOR.fields_by_name:
        return None
    module = module_config_pb2.ModuleConfig()
    getattr(module, name).CopyFrom(getattr(state.module_config, name))
    return module
