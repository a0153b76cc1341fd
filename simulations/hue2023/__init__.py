"""The November 2023 flood in Huế over a modelled LoRa mesh, on the real processes (issue #12, parts 3–4).

Modules, one idea each: ``timeline`` (what happens when: hydrographs, backhaul cuts, SOS, power loss),
``time_scale`` (simulated against real time, and the processes' timers scaled), ``airwaves`` (the mesh
model decides which frame reaches which gateway, when), ``ledger`` (what the scenario did and saw, and the
accountability it implies), ``processes`` (broker, central and gateways as real processes), ``runner``
(the replay on the real processes), ``outcomes`` (the figures against the goals), ``report`` (plots,
HTML), ``scenario`` (all of it end to end), ``cli`` (``floodmesh simulate``, light to import).
"""
