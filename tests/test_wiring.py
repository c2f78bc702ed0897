"""Domains are connected by app.wiring, explicitly, and not as a side effect of importing the models."""

import subprocess
import sys


def test_importing_the_models_connects_nothing():
    code = "import app.models, app.events as e; assert not any(e._subscribers.values()), dict(e._subscribers)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_wiring_connects_awards_and_pools_to_the_registry_events():
    from app import events, wiring
    from app.awards import subscribers as award_subscribers
    from app.pools import subscribers as pool_subscribers

    wiring.connect()
    wiring.connect()  # twice changes nothing
    assert events._subscribers[events.HonourRecorded] == [
        award_subscribers._honour_recorded,
        pool_subscribers.on_honour,
    ]
    assert events._subscribers[events.BecameAboveScale] == [
        award_subscribers._became_above_scale,
        pool_subscribers.on_above_scale,
    ]
