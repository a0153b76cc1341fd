"""Entry point on the ESP32 (copied to the flash root as /main.py, next to /firmware and /protocol).

Wires the pure logic (sos_button, water_level) to the pins of board.py. config.json on flash::

    {"node_id": 184549442, "key": "<32 hex>", "kind": "sos" | "water_level",
     "pins": {"led": 2, "button": 0, "buzzer": 4, "trig": 5, "echo": 18, "battery": 34, "pressure": 35,
              "uart_tx": 17, "uart_rx": 16},
     "sos": {"kind": 0, "people": 1, "vulnerable": 0},
     "sensor": "ultrasonic" | "pressure", "ref_mm": 8000, "shunt_ohm": 150, "range_mm": 5000,
     "interval_s": 300, "batch": 12, "sample_s": 20, "status_s": 3600, "temp_c": 27, "wdt_ms": 30000,
     "deep_sleep": true, "awake_ms": 15000, "listen_ms": 3000, "sleep_after_ms": 60000,
     "radio_to": <gateway node number, default broadcast>, "channel": 0, "queue_len": 48,
     "radio_power_pin": <GPIO of the radio's load switch, absent = always powered>, "radio_boot_ms": 2000}

A corrupt or incomplete config.json starts nothing (no watchdog): the REPL stays free for provisioning.

Deep sleep (``deep_sleep``): the sensor wakes for one sample, talks to the radio only when a frame
waits, and sleeps until the next reading is due; the button sleeps once nothing is being retried
and wakes on a press (ext0 on the button pin). Each wake runs this file from the top: what the node
must remember (boot epoch, sequence, pending readings, the button's case) is kept in RTC memory, the
unsent frames in the flash queue. Only a real boot takes a new boot epoch.

Radio power gating (``radio_power_pin``): the sleeping sensor switches the radio on only on a wake
with frames to send, gives it ``radio_boot_ms`` to boot (light-sleeping meanwhile: the ESP32 has
nothing else to do until the radio can talk; GPIO outputs such as the load switch's hold their level
in light sleep), and cuts it before deep sleep; the button keeps it on while awake (it must hear ACKs;
it keeps polling through the radio's boot to read presses) and cuts it only for its idle sleep,
switching it on again at the wake.

Batching (``batch``, default 1: none): readings go ``batch`` to a frame only while ``interval_s`` is
300 s or more; a Config downlink with a shorter interval (central's adaptive reporting) or a fast
rise sends each reading at once (firmware/water_level.py).

Safe boot: hold the button while powering up to skip the loop and keep the REPL for ``mpremote``
(the ESP32 watchdog cannot be stopped once started: a node running its loop resets ~30 s into a
provisioning session).
"""

import time

import machine

from firmware import board, gestures
from firmware.sequence import Sequence
from firmware.sos_button import SosButton
from firmware.water_level import WaterLevelSensor


def run_button(cfg: dict, epoch: int, wdt: "machine.WDT", st: "dict | None") -> None:
    """The SOS button's loop: input, retries, downlinks, LED and buzzer; ~20 ms per turn."""
    pins = cfg["pins"]
    clock = board.Clock()
    radio = board.Radio(cfg, clock)
    radio.power_on()
    woke = st is not None and machine.wake_reason() == machine.EXT0_WAKE
    button = board.Button(pins["button"], woke)
    led = board.Led(pins["led"], cfg.get("led_active_high", True))
    buzzer = board.Buzzer(pins.get("buzzer"))
    sos = cfg.get("sos", {})
    node = SosButton(cfg["node_id"], cfg["key"], epoch, seq=Sequence(board.random_u16()))
    if st is not None:
        node.restore(st["fw"])
    sleep_after = cfg.get("sleep_after_ms", 60000)
    busy_at = 0
    while True:
        wdt.feed()
        now_ms = clock.ms()
        now_s = int(time.time())
        gesture = button.poll(now_ms)
        if gesture == gestures.PRESS:
            radio.send(node.press(now_ms, now_s, sos.get("kind", 0), sos.get("people", 1), sos.get("vulnerable", 0)),
                       True)
        elif gesture == gestures.MEDICAL:
            radio.send(node.medical(now_ms, now_s), True)
        elif gesture == gestures.HOLD:
            radio.send(node.cancel(now_ms, now_s), True)
        radio.send(node.due(now_ms, now_s), True)
        for data in radio.service():
            node.on_downlink(data)
        led.show(node.led, now_ms)
        buzzer.show(node.led, now_ms)
        if gesture or button.down() or node.retrying() or radio.unsent():
            busy_at = now_ms
        elif cfg.get("deep_sleep") and now_ms - busy_at >= sleep_after:
            # Idle: the LED has shown the answer for a minute; a press wakes us (the pin reads 0).
            radio.power_off()
            board.sleep_until_pressed(button, {"node": cfg["node_id"], "epoch": epoch, "fw": node.state()})
        time.sleep_ms(20)


def _sensor(cfg: dict, epoch: int) -> "tuple[object, board.Battery, WaterLevelSensor]":
    pins = cfg["pins"]
    if cfg.get("sensor") == "pressure":
        gauge = board.PressureGauge(pins["pressure"], cfg.get("ref_mm", 0), cfg.get("shunt_ohm", 150),
                                    cfg.get("range_mm", 5000))
    else:
        gauge = board.Ultrasonic(pins["trig"], pins["echo"])
    node = WaterLevelSensor(cfg["node_id"], cfg["key"], epoch, cfg.get("interval_s", 300),
                            cfg.get("fast_interval_s", 60), cfg.get("fast_delta_mm", 50), seq=Sequence(),
                            batch=cfg.get("batch", 1))
    return gauge, board.Battery(pins.get("battery")), node


def run_sensor(cfg: dict, epoch: int, wdt: "machine.WDT") -> None:
    """The water-level sensor awake for good: range every ``sample_s``, report when due, status hourly."""
    clock = board.Clock()
    radio = board.Radio(cfg, clock)
    radio.power_on()
    gauge, battery, node = _sensor(cfg, epoch)
    sample_ms = cfg.get("sample_s", 20) * 1000
    status_ms = cfg.get("status_s", 3600) * 1000
    next_sample = 0
    next_status = 0
    while True:
        wdt.feed()
        now_ms = clock.ms()
        if now_ms >= next_sample:
            next_sample = now_ms + sample_ms
            mm = gauge.read_mm(5, cfg.get("temp_c", 27))
            for frame in node.sample(int(time.time()), mm, battery.pct()):
                radio.send(frame)
        if now_ms >= next_status:
            next_status = now_ms + status_ms
            radio.send(node.status(int(time.time()), now_ms // 1000, radio.unsent(), battery.pct()))
        for data in radio.service():
            node.on_downlink(data)
        time.sleep_ms(100)


def wake_sensor(cfg: dict, epoch: int, wdt: "machine.WDT", st: "dict | None") -> None:
    """One deep-sleep wake of the sensor: sample, send what waits, listen briefly, sleep till the next."""
    now = int(time.time())
    if st is None:  # a real boot
        st = {"node": cfg["node_id"], "epoch": epoch, "boot_s": now, "status_at": 0}
    gauge, battery, node = _sensor(cfg, epoch)
    if "fw" in st:
        node.restore(st["fw"])
    clock = board.Clock()
    radio = board.Radio(cfg, clock)
    for frame in node.sample(now, gauge.read_mm(5, cfg.get("temp_c", 27)), battery.pct()):
        radio.send(frame)
    if now >= st["status_at"]:
        st["status_at"] = now + cfg.get("status_s", 3600)
        radio.send(node.status(now, now - st["boot_s"], radio.unsent(), battery.pct()))
    if radio.unsent():  # nothing to say: the radio is not woken (nor powered) at all
        ready = radio.power_on()
        end = ready + cfg.get("awake_ms", 15000)
        wait = ready - clock.ms()
        while wait > 0:  # the radio boots: nothing to do, so the CPU light-sleeps meanwhile
            wdt.feed()
            machine.lightsleep(wait)
            wait = ready - clock.ms()
        quiet = -1
        while clock.ms() < end and (quiet < 0 or clock.ms() < quiet):
            wdt.feed()
            for data in radio.service():
                node.on_downlink(data)
            if quiet < 0 and not radio.unsent():
                quiet = clock.ms() + cfg.get("listen_ms", 3000)  # a config downlink answers a reading
            time.sleep_ms(20)
    st["fw"] = node.state()
    radio.power_off()
    board.sleep(st, node.next_sample_s(int(time.time())) * 1000)


def main() -> None:
    """Boot or wake: config, boot epoch, watchdog, then the node's loop (or one wake of it)."""
    try:
        cfg = board.load_config()
    except board.ConfigError as exc:
        # No watchdog, no loop: the REPL stays free so provisioning can write a good config.
        print("floodmesh: bad config.json, not starting:", exc)
        return
    st = board.wake_state(cfg["node_id"])
    pin = cfg["pins"].get("button")
    if st is None and pin is not None and machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0:
        print("floodmesh: safe boot, REPL left free")
        return
    epoch = board.next_boot_epoch() if st is None else st["epoch"]
    wdt = machine.WDT(timeout=cfg.get("wdt_ms", 30000))
    if st is None:
        print("floodmesh: node", cfg["node_id"], cfg["kind"], "boot epoch", epoch)
    if cfg["kind"] == "sos":
        run_button(cfg, epoch, wdt, st)
    elif cfg.get("deep_sleep"):
        wake_sensor(cfg, epoch, wdt, st)
    else:
        run_sensor(cfg, epoch, wdt)


main()
