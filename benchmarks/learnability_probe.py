# ruff: noqa
"""Learnability proxy: a small CNN on balanced synthetic chips (120/class train, 50/class test)."""
import json, sys, time
import torch, torch.nn as nn
torch.set_num_threads(1)
import sartail.data.sources.synthetic as syn
p = json.load(open(sys.argv[1])) if sys.argv[1] != "-" else {}
for k, v in p.items(): setattr(syn, k, tuple(v) if isinstance(v, list) else v)
t=time.time()
def mk(n, seed):
    lab = torch.arange(10).repeat_interleave(n); g = torch.Generator().manual_seed(seed)
    x = syn.render_chips(lab, 56, g).float().div(255.0)
    return (x - 0.4) / 0.15, lab
xtr, ytr = mk(120, 1); xte, yte = mk(50, 2)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1,16,5,padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16,32,3,padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32,64,3,padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64,10))
opt = torch.optim.Adam(net.parameters(), 3e-3)
E = int(sys.argv[2]) if len(sys.argv)>2 else 15
sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=E*((len(ytr)+63)//64))
for ep in range(E):
    net.train(); perm = torch.randperm(len(ytr))
    for i in range(0, len(ytr), 64):
        idx = perm[i:i+64]; xb = xtr[idx]
        if True:  # random flips/rot90 (targets have random orientation)
            k = int(torch.randint(4,(1,))); xb = torch.rot90(xb, k, (2,3))
        loss = nn.functional.cross_entropy(net(xb), ytr[idx]); opt.zero_grad(); loss.backward(); opt.step(); sched.step()
net.eval()
with torch.no_grad(): acc = (net(xte).argmax(1) == yte).float().mean().item()
print(f"learn acc {acc:.3f} ({time.time()-t:.0f}s)")
