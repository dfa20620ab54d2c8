"""Loss balancing strategies (``balancer=`` in configs)."""

from sciml.balancing.base import Balancer
from sciml.balancing.cagrad import CAGrad
from sciml.balancing.fixed import FixedWeights
from sciml.balancing.gcond import GCond
from sciml.balancing.grad_norm import GradNorm
from sciml.balancing.lra_code import LRACode
from sciml.balancing.lra_paper import LRAPaper
from sciml.balancing.lra_pinnacle import LRAPinnacle
from sciml.balancing.ntk import NTKWeights
from sciml.balancing.pcgrad import PCGrad
from sciml.balancing.relobralo import ReLoBRaLo

__all__ = ["Balancer", "CAGrad", "FixedWeights", "GCond", "GradNorm", "LRACode", "LRAPaper", "LRAPinnacle",
           "NTKWeights", "PCGrad", "ReLoBRaLo"]
