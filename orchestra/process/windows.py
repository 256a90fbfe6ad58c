"""Windows: process identity, the wrapper that records an agent's exit status, and a named
job object per run ("orchestra-<run_id>") that holds every process the run starts.

The wrapper creates the job and assigns itself to it before it starts the agent, so every
descendant is born inside it (Windows 8+ nests jobs, so a wrapper already in a job can still
join ours). The job kills what is left in it when its last handle closes, and the wrapper
holds that handle: when the wrapper ends, however it ends, the run ends with it.
"""

import ctypes
import functools
import os
import subprocess
import sys
from ctypes import wintypes

STILL_ACTIVE = 259
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
JOB_OBJECT_QUERY = 0x0004
JOB_OBJECT_TERMINATE = 0x0008
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
BASIC_ACCOUNTING = 1   # JobObjectBasicAccountingInformation
EXTENDED_LIMITS = 9    # JobObjectExtendedLimitInformation


class _BasicLimits(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD)]


class _ExtendedLimits(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", _BasicLimits), ("IoInfo", ctypes.c_uint64 * 6),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


class _Accounting(ctypes.Structure):
    _fields_ = [("TotalUserTime", ctypes.c_int64), ("TotalKernelTime", ctypes.c_int64),
                ("ThisPeriodTotalUserTime", ctypes.c_int64),
                ("ThisPeriodTotalKernelTime", ctypes.c_int64),
                ("TotalPageFaultCount", wintypes.DWORD), ("TotalProcesses", wintypes.DWORD),
                ("ActiveProcesses", wintypes.DWORD), ("TotalTerminatedProcesses", wintypes.DWORD)]


@functools.lru_cache(maxsize=None)
def _kernel32():
    k = ctypes.WinDLL("kernel32", use_last_error=True)
    k.CreateJobObjectW.restype = wintypes.HANDLE
    k.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    k.OpenJobObjectW.restype = wintypes.HANDLE
    k.OpenJobObjectW.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR]
    k.OpenProcess.restype = wintypes.HANDLE
    k.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    k.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    k.GetProcessTimes.argtypes = [wintypes.HANDLE] + [ctypes.POINTER(wintypes.FILETIME)] * 4
    k.GetCurrentProcess.restype = wintypes.HANDLE
    k.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    k.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                          wintypes.DWORD]
    k.QueryInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                            wintypes.DWORD, ctypes.c_void_p]
    k.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
    k.CloseHandle.argtypes = [wintypes.HANDLE]
    return k


def job_name(run_id):
    return "orchestra-" + run_id


def start_token(pid):
    k = _kernel32()
    handle = k.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return None
    try:
        code = wintypes.DWORD()
        if not k.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value != STILL_ACTIVE:
            return None
        times = [wintypes.FILETIME() for _ in range(4)]
        if not k.GetProcessTimes(handle, *[ctypes.byref(t) for t in times]):
            return None
        return f"{times[0].dwHighDateTime}:{times[0].dwLowDateTime}"
    finally:
        k.CloseHandle(handle)


def taskkill(pid, force):
    args = ["taskkill", "/T", "/PID", str(pid)] + (["/F"] if force else [])
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def job_alive(run_id):
    """True while the run's job holds a running process."""
    k = _kernel32()
    job = k.OpenJobObjectW(JOB_OBJECT_QUERY, False, job_name(run_id))
    if not job:
        return False  # gone: its wrapper ended, and with it everything in it
    try:
        info = _Accounting()
        if not k.QueryInformationJobObject(job, BASIC_ACCOUNTING, ctypes.byref(info),
                                           ctypes.sizeof(info), None):
            return True  # it exists; say alive rather than call a live run finished
        return info.ActiveProcesses > 0
    finally:
        k.CloseHandle(job)


def job_kill(run_id):
    k = _kernel32()
    job = k.OpenJobObjectW(JOB_OBJECT_TERMINATE, False, job_name(run_id))
    if job:
        try:
            k.TerminateJobObject(job, 1)
        finally:
            k.CloseHandle(job)


def _join_job(run_id):
    """Put this process in the run's new job, which lives as long as this process."""
    k = _kernel32()
    job = k.CreateJobObjectW(None, job_name(run_id))
    if not job:
        return
    limits = _ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    k.SetInformationJobObject(job, EXTENDED_LIMITS, ctypes.byref(limits), ctypes.sizeof(limits))
    if not k.AssignProcessToJobObject(job, k.GetCurrentProcess()):
        sys.stderr.write(f"orchestra: cannot contain the run in a job object "
                         f"(error {ctypes.get_last_error()}); its processes may outlive a kill\n")


def wrapper(exit_path, run_id, argv):
    """The Windows stand-in for the sh wrapper: join the run's job, run the agent, record its
    exit status."""
    if run_id:
        _join_job(run_id)  # its handle stays open until we exit, and the job with it
    try:
        code = subprocess.call(argv)
    except OSError as e:
        sys.stderr.write(f"orchestra: cannot start {argv[0]}: {e}\n")
        code = 127
    with open(exit_path + ".tmp", "w") as f:
        f.write(f"{code}\n")
    os.replace(exit_path + ".tmp", exit_path)
    return code
