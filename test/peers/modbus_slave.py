#!/usr/bin/python3
"""Modbus slave test peer (pymodbus 3.0, Debian python3-pymodbus).

Usage: modbus_slave.py '<json config>'   (or a path to a JSON file)

Config:
  transport   "tcp" | "rtu"
  host, port  tcp only; port 0 = let the OS pick (the chosen port is printed)
  device      rtu only: serial device path (one end of a socat pty pair)
  baudrate    rtu only (a pty ignores it)
  units       {"<unit id>": {"size": 100, "hr": {"<addr>": [regs...]},
                             "ir": {...}, "co": {"<addr>": [bools...]}, "di": {...}}}
              Every table is a block of `size` entries starting at address 0, so any
              address >= size answers exception 2 (illegal data address). Unit ids not
              listed do not exist: on RTU they never answer (a dead unit on the line).
  changes     [{"unit": 1, "table": "hr", "address": 10, "values": [[...], [...]],
                "periodMs": 200, "loop": true}]  values written one step per period.
  logWrites   true: every write a master makes (FC 5, 6, 15, 16) is printed on stdout as
              "WRITE <unit> <fc> <address> <json values>" (sets from stdin/changes are not).

Prints "READY <port or device>" on stdout once listening. Reads JSON lines on stdin:
  {"op": "set", "unit": 1, "table": "hr", "address": 10, "values": [215]}
and answers "OK <n>" (n = line number) after the write has been applied.
zero_mode=True everywhere: pymodbus otherwise shifts every address by one.
The RTU server is given ModbusRtuFramer explicitly: StartAsyncSerialServer's default
is the ASCII framer.
"""
import asyncio
import json
import logging
import os
import sys
import threading

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer

logging.disable(logging.CRITICAL)

FC = {"co": 1, "di": 2, "hr": 3, "ir": 4}


def load_config():
    arg = sys.argv[1]
    if os.path.exists(arg):
        with open(arg, encoding="utf-8") as f:
            return json.load(f)
    return json.loads(arg)


class LoggingSlaveContext(ModbusSlaveContext):
    """Prints the writes a master makes; `quiet` is set around the peer's own sets."""

    unit = 0
    log_writes = False
    quiet = False

    def setValues(self, fc_as_hex, address, values):  # noqa: N802 (pymodbus API)
        if self.log_writes and not self.quiet:
            print(f"WRITE {self.unit} {fc_as_hex} {address} {json.dumps(list(values))}", flush=True)
        super().setValues(fc_as_hex, address, values)


def build_context(units, log_writes=False):
    slaves = {}
    for uid, spec in units.items():
        size = int(spec.get("size", 100))
        blocks = {}
        for table in FC:
            init = [False] * size if table in ("co", "di") else [0] * size
            blocks[table] = ModbusSequentialDataBlock(0, init)
        ctx = LoggingSlaveContext(
            co=blocks["co"], di=blocks["di"], hr=blocks["hr"], ir=blocks["ir"], zero_mode=True
        )
        ctx.unit = int(uid)
        ctx.log_writes = log_writes
        ctx.quiet = True
        for table in FC:
            for addr, values in spec.get(table, {}).items():
                ctx.setValues(FC[table], int(addr), list(values))
        ctx.quiet = False
        slaves[int(uid)] = ctx
    return ModbusServerContext(slaves=slaves, single=False)


def apply_set(context, cmd):
    slave = context[int(cmd["unit"])]
    slave.quiet = True
    try:
        slave.setValues(FC[cmd["table"]], int(cmd["address"]), list(cmd["values"]))
    finally:
        slave.quiet = False


async def run_changes(context, change):
    period = float(change.get("periodMs", 500)) / 1000.0
    steps = change["values"]
    i = 0
    while True:
        step = steps[i]
        apply_set(context, {**change, "values": step if isinstance(step, list) else [step]})
        i += 1
        if i >= len(steps):
            if not change.get("loop", False):
                return
            i = 0
        await asyncio.sleep(period)


def stdin_reader(loop, context):
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        n += 1
        cmd = json.loads(line)
        done = threading.Event()

        def apply(c=cmd):
            apply_set(context, c)
            done.set()

        loop.call_soon_threadsafe(apply)
        done.wait()
        print(f"OK {n}", flush=True)


async def main():
    cfg = load_config()
    context = build_context(cfg.get("units", {}), bool(cfg.get("logWrites", False)))
    loop = asyncio.get_running_loop()
    if cfg["transport"] == "tcp":
        server = ModbusTcpServer(
            context,
            framer=ModbusSocketFramer,
            address=(cfg.get("host", "127.0.0.1"), int(cfg.get("port", 0))),
            allow_reuse_address=True,
        )
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        where = server.server.sockets[0].getsockname()[1]
    else:
        server = ModbusSerialServer(
            context,
            framer=ModbusRtuFramer,
            port=cfg["device"],
            baudrate=int(cfg.get("baudrate", 9600)),
        )
        await server.start()
        if server.transport is None:
            print(f"FAILED to open {cfg['device']}", flush=True)
            sys.exit(2)
        task = asyncio.create_task(asyncio.sleep(10**9))
        where = cfg["device"]
    for change in cfg.get("changes", []):
        asyncio.create_task(run_changes(context, change))
    threading.Thread(target=stdin_reader, args=(loop, context), daemon=True).start()
    print(f"READY {where}", flush=True)
    await task


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
