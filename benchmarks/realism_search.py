# ruff: noqa
"""Random local search over the synthetic renderer's module constants for a low real-vs-synthetic AUC
(benchmarks/history/2026-12-01-synthetic-realism.md, phase 3). Needs the probe's cached real statistics (run benchmarks/realism_probe.py first)
and /tmp/r2/real.npy (the 826 real chips as uint8 [N, 56, 56]).

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python benchmarks/realism_search.py START_JSON SECONDS
"""
import numpy as np, torch, pickle, sys, json, time
torch.set_num_threads(1)
import sartail.data.sources.synthetic as syn
from sartail.data.realism import STATISTICS, chip_statistics
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
import glob
sb = pickle.load(open(glob.glob('/tmp/sartail_real_stats_*.pkl')[0],'rb'))
Xb = np.stack([np.asarray(sb[k],float) for k in STATISTICS],1)
VERB = False
REALPIX = np.load('/tmp/r2/real.npy')
labels = torch.arange(10).repeat_interleave(80)
def auc(params, seed=7919):
    for k,v in params.items(): setattr(syn,k,v)
    g = torch.Generator().manual_seed(seed)
    img = syn.render_chips(labels, 56, g)
    sa = chip_statistics(img)
    if VERB:
        from scipy.stats import wasserstein_distance
        ha = np.bincount(img.numpy().ravel(), minlength=256); hb = np.bincount(REALPIX.ravel(), minlength=256)
        print(f"   W1 {wasserstein_distance(np.arange(256), np.arange(256), ha, hb):.2f}", flush=True)
    Xa = np.stack([np.asarray(sa[k],float) for k in STATISTICS],1)
    X = np.nan_to_num(np.concatenate([Xa,Xb])); y=np.r_[np.zeros(len(Xa)),np.ones(len(Xb))]
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    lr = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), X, y, cv=cv, scoring="roc_auc").mean()
    from sklearn.ensemble import HistGradientBoostingClassifier
    gb = cross_val_score(HistGradientBoostingClassifier(max_iter=200, random_state=0), X, y, cv=cv, scoring="roc_auc").mean()
    print(f"   lr {lr:.3f} gb {gb:.3f}", flush=True) if VERB else None
    return (lr + gb) / 2
# parameter space: name -> (kind, bounds)
space = {
 'TEXTURE_SD': (0.0, 1.2), 'BODY_SPECKLE': (0.0, 1.0), 'TEXTURE_LENGTH': ((1.5,6.0),(8.0,30.0)),  'PSF_MAJOR': ((0.9,1.6),(0.0,0.8)), 'PSF_RATIO': ((0.4,1.0),(0.0,0.5)),
 'GREY_POWER': (0.16,0.24), 'GREY_POWER_SD': (0.0,0.25), 'TEXTURE_GAIN': ((0.0,1.0),(0.2,2.0)),
 'RELIEF_MAX_SD': (0.0, 3.0), 'FIELD_SHARE': (0.0,0.8), 'FIELD_STEP_SD': (0.0,2.0), 'LINE_SHARE': (0.03,0.3),
 'PATCH_DEPTH': (0.0,6.0), 'PATCH_LEVEL': ((0.0,1.5),(0.0,1.5)), 'BRIGHTNESS_SD': (0.02,0.2), 'CONTRAST_SD': (0.0,0.2),
 'SHADOW_DEPTH': ((0.6,0.97),(0.0,0.3)), 'GREY_OFFSET_SD': (0.0, 30.0), 'GREY_SCALE': (80.0, 130.0), 'GREY_OFFSET': (-20.0, 20.0),
}
def clip(name, v):
    b = space[name]
    if isinstance(b[0], tuple): return tuple(float(np.clip(x, lo, hi)) for x,(lo,hi) in zip(v,b))
    return float(np.clip(v, *b))
cur = {k: getattr(syn,k) for k in space}
cur = json.loads(sys.argv[1]) if len(sys.argv)>1 else cur
cur = {k: tuple(v) if isinstance(v,list) else v for k,v in cur.items()}
best = auc(cur); print("start", round(best,4), flush=True)
rng = np.random.default_rng(int(time.time()))
T = float(sys.argv[2]) if len(sys.argv)>2 else 400
t0=time.time(); it=0
while time.time()-t0 < T:
    it+=1
    cand = dict(cur)
    for name in rng.choice(list(space), size=rng.integers(1,4), replace=False):
        b = space[name]; v = cand[name]
        if isinstance(b[0], tuple): cand[name] = clip(name, tuple(x + rng.normal()*0.25*(hi-lo) for x,(lo,hi) in zip(v,b)))
        else: cand[name] = clip(name, v + rng.normal()*0.25*(b[1]-b[0]))
    a = auc(cand)
    if a < best:
        VERB=True; auc(cand); VERB=False
        best, cur = a, cand; print(it, round(a,4), json.dumps(cur), flush=True)
print("final", best, json.dumps(cur))
