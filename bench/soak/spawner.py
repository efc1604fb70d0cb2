# The preloaded half of the soak's churn. `rtprof run` starts this (with -S, so it loads no probe
# itself) and everything it starts inherits the probe's environment, as a service's workers would.
# Each stdin line "node|python SECONDS" starts one target and kills it after SECONDS; EOF kills all.
import os
import subprocess
import sys
import threading

NODE_TARGET = "require('http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1'); setInterval(() => {}, 1000);"
PY_TARGET = "import time\nwhile True: time.sleep(0.1)"

children = set()
lock = threading.Lock()


def stop(proc):
    try:
        proc.kill()
        proc.wait()
    except OSError:
        pass
    with lock:
        children.discard(proc)


def main():
    tag = os.environ["SOAK_PRELOAD_TAG"]
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2:
            continue
        kind, life = parts[0], float(parts[1])
        if kind == "node":
            cmd = [os.environ["SOAK_NODE"], "-e", NODE_TARGET, tag]
        elif kind == "python":
            cmd = [sys.executable, "-c", PY_TARGET, tag]
        else:
            continue
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        with lock:
            children.add(proc)
        print("SPAWNED %s %d" % (kind, proc.pid), flush=True)
        timer = threading.Timer(life, stop, (proc,))
        timer.daemon = True
        timer.start()
    with lock:
        left = list(children)
    for proc in left:
        stop(proc)


main()
