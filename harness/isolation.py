"""One case's run on one backend in a child process, for code that can break its process for good.

torch's CUDA kernels check an index with a device-side assert: once one fires, the CUDA context
is unusable and every later CUDA call in that process fails, so one case would take down every
case after it. A case tagged ``cuda-device-assert`` therefore runs in a fresh process whenever
its backend runs on CUDA. The child is spawned, not forked (a CUDA context does not survive a
fork), and its Trace comes back as plain data (``Trace.to_dict``), as a saved trace would.
"""

import multiprocessing
import traceback

from .backends import BackendUnavailable, load_backend
from .cases import Case
from .sandbox import CaseCodeError
from .trace import CaseTimeout, Trace, run_trace

ISOLATED_TAG = "cuda-device-assert"
STARTUP_SECONDS = 120.0  # a spawned child imports the backend (torch) before the case's own time limit starts


class IsolatedRunFailed(Exception):
    """The child could not give a trace: the case's code was refused, it timed out, the backend
    was missing, or the process died. The message says which, as the in-process run would."""


def needs_isolation(case, device, default_device):
    """Whether ``case`` must run in a child process on a backend using ``device`` with
    ``default_device`` as its default: it is tagged and runs on CUDA."""
    return ISOLATED_TAG in case.tags and "cuda" in (device, default_device)


def run_trace_isolated(case, backend_name, device, time_limit, default_device):
    """``run_trace`` of ``case`` on the backend ``backend_name`` in a spawned child process.
    Raises IsolatedRunFailed when no trace comes back."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_run_in_child, daemon=True, name=f"case {case.id}",
                            args=(sender, case.to_dict(), backend_name, device, time_limit, default_device))
    child.start()
    sender.close()  # the child holds the only writer: its end closing reads as EOF here
    deadline = STARTUP_SECONDS + time_limit
    try:
        if not receiver.poll(deadline):
            raise IsolatedRunFailed(f"{case.file}:{case.line}: {backend_name}'s run of {case.id!r} in a child "
                                    f"process gave no result within {deadline:g} s")
        kind, payload = receiver.recv()
        child.join(10)  # it exits once it has sent
    except EOFError:
        child.join(10)
        raise IsolatedRunFailed(f"{case.file}:{case.line}: {backend_name}'s run of {case.id!r} ended its child "
                                f"process (exit code {child.exitcode}) before giving a result") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
            child.join()
    if kind == "error":
        raise IsolatedRunFailed(payload)
    return Trace.from_dict(payload)


def _run_in_child(sender, case_data, backend_name, device, time_limit, default_device):
    try:
        trace = run_trace(Case.from_dict(case_data), load_backend(backend_name), device, time_limit, default_device)
        message = ("trace", trace.to_dict())
    except (CaseCodeError, CaseTimeout, BackendUnavailable) as error:
        message = ("error", str(error))
    except Exception:  # reported as the in-process run reports a harness bug
        message = ("error", "harness error in the child process:\n" + traceback.format_exc())
    sender.send(message)
    sender.close()
