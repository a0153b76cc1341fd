"""The scenario runner shared by the ``mp_scenarios*`` files, under CPython and MicroPython alike."""


def scenarios(namespace: dict) -> list:
    """Every ``scenario_*`` function of a module's namespace, by name."""
    return [namespace[n] for n in sorted(namespace) if n.startswith("scenario_")]


def run(stories: list) -> int:
    """Run every scenario; print failures and ``N passed, N failed``; the exit code."""
    passed = failed = 0
    for fn in stories:
        try:
            fn()
            passed += 1
        except Exception as exc:  # report every failing story, not just the first
            failed += 1
            print("FAIL", fn.__name__, repr(exc))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
