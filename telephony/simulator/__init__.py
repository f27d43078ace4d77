"""A PBX simulator that looks like Asterisk 22 over AMI and FastAGI (demo, tests, benchmarks)."""

from __future__ import annotations

from telephony.simulator.originate import SurveyCall
from telephony.simulator.pbx import PbxSimulator
from telephony.simulator.phones import AgentPhone, CustomerPhone, Keypress
from telephony.simulator.queue_calls import QueueCall

__all__ = ["AgentPhone", "CustomerPhone", "Keypress", "PbxSimulator", "QueueCall", "SurveyCall"]
