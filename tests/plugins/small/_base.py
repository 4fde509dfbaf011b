"""The well-behaved part of the small test plugins (rmachine-driver-* beside this file; all but
`steady` misbehave):
a driver whose machines need no SSH (the endpoint names an engine at 127.0.0.1:9, as the `none`
driver's), so that `create` records them at once; each plugin replaces one or more methods with
its misbehaviour. `serve(NAME, {method: handler})`: a handler gets (params, request id) and
returns the result, or misbehaves. Notifications are read by a thread: `CANCELLED` is set when
`$/cancel` arrives. MISBEHAVE_LOG=FILE appends one line per event (`pid N`, calls, cancels)."""
import json
import os
import queue
import sys
import threading

CANCELLED = threading.Event()
_write = threading.Lock()


def send(message):
    with _write:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        sys.stdout.flush()


def note(text):
    path = os.environ.get("MISBEHAVE_LOG")
    if path:
        with open(path, "a") as log:
            log.write(text + "\n")


def standard(name, capabilities):
    return {
        "initialize": lambda params, id: {
            "protocol": 1, "name": name, "version": "0.0.1", "capabilities": capabilities,
            "options": [{"name": f"{name}-token", "type": "string", "secret": True, "env": f"{name.upper()}_TOKEN"},
                        {"name": f"{name}-size", "type": "int", "default": 1, "usage": "how big"}]},
        "pre_create_check": lambda params, id: {"settings": {"made_by": name}},
        "create": lambda params, id: {"settings": params["settings"],
                                      "endpoint": {"ip": "127.0.0.1", "engine_url": "tcp://127.0.0.1:9", "ssh": None}},
        "state": lambda params, id: {"state": "Running"},
        "power": lambda params, id: {"outcome": "done"},
        "remove": lambda params, id: {},
    }


def _read(requests):
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("method") == "$/cancel":
            note(f"cancel {message['params']['id']}")
            CANCELLED.set()
        else:
            requests.put(message)
    requests.put(None)


def serve(name, handlers, capabilities=()):
    note(f"pid {os.getpid()}")
    methods = {**standard(name, list(capabilities)), **handlers}
    requests = queue.Queue()
    threading.Thread(target=_read, args=(requests,), daemon=True).start()
    while (request := requests.get()) is not None:
        params = request.get("params") or {}
        note(f"call {request['method']} settings={json.dumps(params.get('settings'))} "
             f"options={json.dumps(params.get('options'))} secrets={json.dumps(params.get('secrets'))}")
        handler = methods.get(request["method"])
        if handler is None:
            send({"id": request["id"], "error": {"code": -32601, "message": f"no method {request['method']}"}})
            continue
        result = handler(params, request["id"])
        if result is not None:
            send({"id": request["id"], "result": result})
