# ruff: noqa: E402, E702
"""Which statistics tell the synthetic chips from the real MAVOC test chips, for renderer settings.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python benchmarks/realism_probe.py [NAME=VALUE ...]

Renders the synthetic balanced test set (800 chips) with the module constants of
``sartail.data.sources.synthetic`` overridden by the ``NAME=VALUE`` arguments (Python literals,
e.g. ``RELIEF_MAX_SD=1.5 PSF_MAJOR=(1.4,0.0)``), and prints the 2-fold cross-validated AUC of a
standardised logistic regression on the per-chip statistics, and per statistic its coefficient,
KS distance, single-statistic AUC and both sets' mean +- std. Real chips: ``$SARTAIL_REAL``
(default ``../shared/data/mavoc2022_test_sar``); their statistics are cached in /tmp.
"""
import ast
import os
import pickle
import sys
import time
import zlib

import numpy as np
import torch

torch.set_num_threads(1)
import sartail.data.sources.synthetic as syn
from sartail.data import load
from sartail.data.realism import STATISTICS, chip_statistics, per_statistic_ks
from sartail.data.sources.synthetic import make_synthetic

for arg in sys.argv[1:]:
    k, v = arg.split("=", 1); setattr(syn, k, ast.literal_eval(v)); print(k, "=", v)
REAL = os.environ.get("SARTAIL_REAL", "../shared/data/mavoc2022_test_sar")
cache = f"/tmp/sartail_real_stats_{zlib.crc32(os.path.abspath(REAL).encode())}.pkl"
if os.path.exists(cache):
    with open(cache, "rb") as f:
        sb = pickle.load(f)
else:
    b = load(f"mavoc_test:{REAL}", size=56, progress=False)
    sb = chip_statistics(b)
    with open(cache, "wb") as f:
        pickle.dump(sb, f)
t = time.time()
a = make_synthetic(scale=0.0005, size=56, progress=False)[1]
print(f"render {len(a)} in {time.time()-t:.1f}s")
sa = chip_statistics(a)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X = np.concatenate([np.stack([np.asarray(s[k], float) for k in STATISTICS], 1) for s in (sa, sb)])
y = np.r_[np.zeros(len(a)), np.ones(len(sb["mean"]))]
X = np.nan_to_num(X)
cv = StratifiedKFold(2, shuffle=True, random_state=0)
auc = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), X, y, cv=cv, scoring="roc_auc").mean()
print(f"LR AUC {auc:.3f}")
m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
coef = m[-1].coef_[0]
ks = per_statistic_ks(sa, sb)
rows = []
for i, k in enumerate(STATISTICS):
    a1 = roc_auc_score(y, X[:, i]); a1 = max(a1, 1 - a1)
    rows.append((abs(coef[i]), k, coef[i], ks[k], a1, np.mean(X[y == 0, i]), np.mean(X[y == 1, i]), np.std(X[y==0,i]), np.std(X[y==1,i])))
for r in sorted(rows, reverse=True)[:int(os.environ.get("TOP", "16"))]:
    print(f"{r[1]:18s} coef {r[2]:+7.2f} KS {r[3]:.3f} AUC1 {r[4]:.3f} syn {r[5]:8.3f}+-{r[7]:.3f} real {r[6]:8.3f}+-{r[8]:.3f}")
