"""MicroPython firmware for floodmesh edge nodes (ESP32 + LoRa). Also imported on the host by virtual nodes."""
