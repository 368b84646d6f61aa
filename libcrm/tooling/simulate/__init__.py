"""A deterministic simulated university library writing the source exports of docs/sources.md.

``simulate`` draws patrons with hidden taste clusters, lifecycle archetypes and opinion
leaders, a catalogue, loans, gate passages, events and registrations, and writes an initial
export plus daily change files into a landing folder, and the hidden truth into a JSON file.
"""

from libcrm.tooling.simulate.outreach import Outreach
from libcrm.tooling.simulate.profiles import PROFILES, Profile
from libcrm.tooling.simulate.run import SimulationSummary, simulate
from libcrm.tooling.simulate.scales import SCALES, Scale

__all__ = ["PROFILES", "SCALES", "Outreach", "Profile", "Scale", "SimulationSummary", "simulate"]
