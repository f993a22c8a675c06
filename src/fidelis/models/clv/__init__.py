"""Buy-till-you-die customer lifetime value models in numpy/scipy.

Purchase counts: BG/NBD (`BetaGeoModel`) and Pareto/NBD (`ParetoNBDModel`); spend per purchase:
Gamma-Gamma (`GammaGammaModel`); `customer_lifetime_value` combines one of each. All fits are maximum
likelihood with analytic gradients on validated input (`RepeatData`), and every failure the user can
cause raises `fidelis.errors.ModelError` with a one-line message.
"""

from fidelis.models.clv.base import FitDiagnostics, RepeatData, TransactionModel, load_model
from fidelis.models.clv.bgnbd import BetaGeoModel
from fidelis.models.clv.gamma_gamma import GammaGammaModel
from fidelis.models.clv.holdout import calibration_holdout, holdout_by_frequency
from fidelis.models.clv.pareto_nbd import ParetoNBDModel
from fidelis.models.clv.value import customer_lifetime_value

TRANSACTION_MODELS = {"bgnbd": BetaGeoModel, "pareto-nbd": ParetoNBDModel}

__all__ = [
    "TRANSACTION_MODELS",
    "BetaGeoModel",
    "FitDiagnostics",
    "GammaGammaModel",
    "ParetoNBDModel",
    "RepeatData",
    "TransactionModel",
    "calibration_holdout",
    "customer_lifetime_value",
    "holdout_by_frequency",
    "load_model",
]
