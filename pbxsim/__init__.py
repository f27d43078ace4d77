"""A PBX simulator that looks like Asterisk 22 over AMI and FastAGI (demo, tests, benchmarks)."""

from __future__ import annotations

from pbxsim.originate import SurveyCall
from pbxsim.pbx import PbxSimulator
from pbxsim.phones import AgentPhone, CustomerPhone, Keypress
from pbxsim.queue_calls import QueueCall

__all__ = ["AgentPhone", "CustomerPhone", "Keypress", "PbxSimulator", "QueueCall", "SurveyCall"]
