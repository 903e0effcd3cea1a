r"""The self-supervised losses of Part II side by side (R9–R15), generated from the
library.

One entry per method: the loss, its spectral counterpart, whether that counterpart
is local or global, the library's closed forms of :math:`Z` (nonparametric) and of
:math:`W` (linear, :math:`Z = XW`), and the rank of the optimum as a function of
the spectrum of :math:`G` and of :math:`K`, :math:`\alpha`, :math:`\lambda`,
:math:`\tau`.  :func:`rank_table` computes the rank of every closed form on one
augmentation graph for a range of :math:`K`, next to the rank the theorem
predicts; :func:`training_table` reads, from the check record of a run
(:mod:`sslspec_lib.checks`), the check in which the real loss trained from a
random start reached each closed form.  The comparison page of the book
(``chapters/part2_ssl/comparison``) shows the three tables.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch

from . import _validation as _v
from . import closed_form, graphs
from .checks import records

__all__ = ["Method", "METHODS", "methods_table", "rank_table", "training_table"]


@dataclass(frozen=True)
class Method:
    """One self-supervised loss and what the book proves about it.

    ``rank`` is the predicted rank of the nonparametric optimum on
    ``augmentation_graph(n_groups, n_views)`` as a function of
    ``(K, n_groups, n_views)`` (None where no theorem gives it);
    ``closed_z`` computes the closed form on that graph for a given ``K``;
    ``trained`` is a regular expression selecting, among the checks of
    ``rids`` recorded by the notebook of ``chapter`` (:attr:`notebook`) or by
    one of the notebooks ``also`` (for instance the linear-regime chapter), those
    comparing the trained loss with its closed form.
    """

    name: str
    loss: str
    rids: tuple[str, ...]
    counterpart: str
    locality: str
    closed_z: str
    closed_w: str
    rank_text: str
    rank: Callable[[int, int, int], int] | None
    compute: Callable[[torch.Tensor, int], torch.Tensor] | None
    trained: str
    chapter: str
    also: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        """The notebook of ``chapter``: ``ch-vicreg-hinge`` -> ``vicreg_hinge``."""
        return self.chapter.removeprefix("ch-").replace("-", "_")


def _bt(G: torch.Tensor, K: int) -> torch.Tensor:
    p = int(graphs.components(G).max())  # N' - 1
    if K <= p:
        return closed_form.barlow_twins_optimum(G, K)
    return closed_form.barlow_twins_overcomplete_optimum(G, K, 0.0051)


#: Smooth VICReg's invariance weight in the rank table: below 1/V (full rank)...
ALPHA_SMALL = 0.1
#: ... and above it (the invariant directions only).
ALPHA_LARGE = 0.5

METHODS: tuple[Method, ...] = (
    Method("VICReg (smooth), alpha below 1/lambda_k(L)", "losses.vicreg", ("R9", "R10"),
           "Laplacian Eigenmaps (covariance constraint)", "local",
           "closed_form.vicreg_optimum", "closed_form.vicreg_linear_optimum",
           "#{k <= K : alpha lambda_k(L) < 1}, lambda_k(L) the eigenvalues of "
           "L = D - G on the centred vectors, in increasing order (all-rows "
           "statistics; ties do not change it)",
           lambda K, n, V: min(K, n * V - 1) if ALPHA_SMALL * V < 1 else min(K, n - 1),
           lambda G, K: closed_form.vicreg_optimum(G, K, ALPHA_SMALL),
           r"(random graph|digits kNN graph|alpha = 0\.1): "
           r"loss gap to the closed-form minimum",
           "ch-vicreg"),
    Method("VICReg (smooth), alpha above 1/lambda_k(L) for some k", "losses.vicreg",
           ("R10",), "Laplacian Eigenmaps, bottom of L only", "local",
           "closed_form.vicreg_optimum", "closed_form.vicreg_linear_optimum",
           "the same formula: only the eigenvalues of L below 1/alpha are kept",
           lambda K, n, V: min(K, n * V - 1) if ALPHA_LARGE * V < 1 else min(K, n - 1),
           lambda G, K: closed_form.vicreg_optimum(G, K, ALPHA_LARGE),
           r"alpha = 0\.5: loss gap to the closed-form minimum", "ch-vicreg"),
    Method("VICReg (reference hinge, 25:25:1)", "losses.vicreg_hinge", ("R11",),
           "Laplacian Eigenmaps, approximately (exact under a diagonal covariance)",
           "local", "closed_form.vicreg_hinge_optimum (diagonal prediction)", "none",
           "not given by a theorem (measured in the hinge chapter, below K at the "
           "reference weights)",
           None, None, r"final loss minus the predicted minimum", "ch-vicreg-hinge"),
    Method("spectral contrastive", "losses.spectral_contrastive", ("R13", "R15"),
           "Eckart-Young (kernel PCA of G)", "global",
           "closed_form.spectral_contrastive_optimum",
           "closed_form.spectral_contrastive_linear_optimum",
           "#{k <= K : mu_k(G) > 0}, mu_k(G) the eigenvalues of G in decreasing order "
           "(all pairs, i = j included; ties do not change it; the loss over distinct "
           "pairs only is minimised by any PSD ZZ^T with off-diagonal G, up to rank N)",
           lambda K, n, V: min(K, n),
           lambda G, K: closed_form.spectral_contrastive_optimum(G, K),
           r"relative loss gap to the minimum|trained loss = -sum_k nu_k\^2",
           "ch-contrastive", ("linear_regime",)),
    Method("SimCLR / InfoNCE (any tau)", "losses.info_nce", ("R12",),
           "classical MDS of the discrete metric on the groups (cliques only)",
           "global",
           "closed_form.simclr_optimum", "none",
           "N' - 1 for K >= N' - 1, every tau > 0 (the simplex); no theorem for "
           "K < N' - 1",
           lambda K, n, V: n - 1 if K >= n - 1 else None,
           lambda G, K: closed_form.simclr_optimum(G, K),
           r"loss gap to l\*_tau", "ch-contrastive"),
    Method("NNCLR / MeanShift (spectral contrastive on G(Z))",
           "losses.spectral_contrastive", ("R12", "R13"),
           "Eckart-Young of a graph built from Z itself (at a fixed point)", "global",
           "closed_form.spectral_contrastive_optimum (for G* at a fixed point of "
           "graphs.nnclr_alternation)", "none",
           "that of the spectral contrastive optimum for its own G*; the alternation "
           "may cycle instead of reaching a G*", None, None,
           r"trained Z Z\^T within m_2 / 8 of the closed form", "ch-nnclr"),
    Method("Barlow Twins (lambda = 0.0051)", "losses.barlow_twins", ("R14", "R15"),
           "CCA of the views", "global",
           "closed_form.barlow_twins_optimum, barlow_twins_overcomplete_optimum",
           "closed_form.barlow_twins_linear_optimum (the symmetric CCA directions: the "
           "minimiser only when the K top canonical correlations are 1; otherwise "
           "training goes below them, a gap the Barlow Twins chapter measures)",
           "rank(HZ) = min(K, N' - 1) for 0 < lambda <= 1 (C = I when K <= N' - 1, "
           "C = c* Pi of rank N' - 1 beyond; any V); lambda = 0: any rank up to "
           "min(K, N' - 1) (only the diagonal is constrained); lambda > 1, K > N' - 1: "
           "no theorem",
           lambda K, n, V: min(K, n - 1), _bt,
           r"trained loss below 1e-10|^lambda = 0\.0051: \|loss - l\*\|",
           "ch-barlow-twins"),
    Method("Barlow Twins, reference two-view form (0 < lambda <= 1)",
           "losses.barlow_twins_two_view", ("R14",),
           "CCA of the views, each normalised on its own", "global",
           "closed_form.barlow_twins_two_view_optimum", "none",
           "K for K <= N' - 1 (lambda > 0); N' - 1 beyond for 0 < lambda <= 1 (each "
           "view, and both stacked); the minimum value is the pooled form's, the "
           "minimisers are not; lambda = 0: any rank; lambda > 1 or V >= 3 views "
           "(average over pairs), K > N' - 1: no theorem",
           None, None, r"trained: \|loss - l\*\|", "ch-barlow-twins-reference"),
    Method("Barlow Twins, per-view relation form (n_views = V, 0 < lambda <= 1)",
           "losses.barlow_twins", ("R14",),
           "CCA of the views, each normalised on its own, on the view-averaged "
           "correlation", "global",
           "closed_form.barlow_twins_two_view_optimum (one minimiser for V = 2: its "
           "C_ab is symmetric)", "none",
           "K for K <= N' - 1 (lambda > 0); K > N' - 1, V = 2: the averaged "
           "correlation is c* Pi of rank N' - 1, each view of rank <= N' - 1 (not "
           "fixed); V >= 3: no theorem (l* reached in training)",
           None, None, r"per-view relation form, K = 8: \|loss - l\*\|",
           "ch-barlow-twins-reference"),
)


def _md(text: str) -> str:
    """Escape the characters that would split a table cell or start emphasis."""
    return text.replace("|", r"\|").replace("*", r"\*")


def _code(text: str) -> str:
    """``name (remark)`` -> the name as code, the remark as escaped text."""
    name, sep, rest = text.partition(" (")
    return f"`{name}`" + (f" ({_md(rest)}" if sep else "")


def methods_table() -> str:
    """Markdown table: method, loss, counterpart, local/global, closed forms, rank."""
    out = ["| method | loss | results | spectral counterpart | local / global | "
           "closed form of Z | closed form of W (linear) | rank of the optimum |",
           "|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        out.append(f"| {_md(m.name)} | `{m.loss}` | {', '.join(m.rids)} | "
                   f"{_md(m.counterpart)} | {m.locality} | {_code(m.closed_z)} | "
                   f"{'—' if m.closed_w == 'none' else _code(m.closed_w)} | "
                   f"{_md(m.rank_text)} |")
    return "\n".join(out)


def rank_table(n_groups: int = 4, n_views: int = 3,
               Ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)) -> dict[str, Any]:
    r"""Rank of each closed form on ``augmentation_graph(n_groups, n_views)``, each K.

    The rank is that of :math:`Z` (singular values above :math:`10^{-8}` of the
    largest); the predicted rank is the method's formula.  Returns
    ``{"Ks", "computed": {name: [int, ...]}, "predicted": {name: [int | None, ...]},
    "markdown"}``.

    Raises
    ------
    ValueError
        If ``n_groups < 2``, ``n_views < 2`` or a K is not in ``[1, N - 1]``.
    """
    f = "rank_table"
    n_groups = _v.check_int(n_groups, "n_groups", f, 2)
    n_views = _v.check_int(n_views, "n_views", f, 2)
    N = n_groups * n_views
    Ks = tuple(_v.check_int(K, "K", f, 1, N - 1) for K in Ks)
    G = graphs.augmentation_graph(n_groups, n_views)
    computed: dict[str, list[int]] = {}
    predicted: dict[str, list[int | None]] = {}
    for m in METHODS:
        if m.compute is None:
            continue
        comp, pred = [], []
        for K in Ks:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ties and K < N' - 1 warn, by design
                Z = m.compute(G, K)
            comp.append(int(torch.linalg.matrix_rank(Z, rtol=1e-8)))
            pred.append(m.rank(K, n_groups, n_views))
        computed[m.name], predicted[m.name] = comp, pred
    head = "| method | " + " | ".join(f"K = {K}" for K in Ks) + " |"
    lines = [head, "|---|" + "---:|" * len(Ks)]
    for name in computed:
        cells = [f"{c}" if p is None or p == c else f"{c} (predicted {p})"
                 for c, p in zip(computed[name], predicted[name])]
        cells = [c if p is not None else f"{c} (no theorem)"
                 for c, p in zip(cells, predicted[name])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return {"Ks": Ks, "computed": computed, "predicted": predicted,
            "markdown": "\n".join(lines)}


def training_table(run: str) -> str:
    """Markdown: per method, the recorded check of its trained loss against its closed
    form.

    For each method, among the checks of ``run`` whose R-id is one of the
    method's and whose label matches its ``trained`` pattern, the one with the
    smallest margin; a method with none says so (its chapter did not run in
    this run).  Only the checks recorded by the method's own chapters count.
    """
    recs = records(run)
    out = ["| method | check (chapter) | measured | tolerance | margin "
           "| checks matched |",
           "|---|---|---:|---:|---:|---:|"]
    for m in METHODS:
        pat = re.compile(m.trained)
        hits = [r for r in recs if r["rid"] in m.rids and pat.search(r["label"])
                and r["notebook"].split("/")[-1] in (m.notebook, *m.also)
                and r.get("margin") is not None]
        if not hits:
            out.append(f"| {_md(m.name)} | not recorded in this run (execute Part II "
                       "first) | | | | 0 |")
            continue
        r = min(hits, key=lambda r: r["margin"])
        chapter = r["notebook"].split("/")[-1]
        out.append(f"| {_md(m.name)} | [{r['rid']}] {_md(r['label'])} ({chapter}) | "
                   f"{r['measured']:.2e} | {r['tol']:.2e} | {r['margin']:.3g} | "
                   f"{len(hits)} |")
    return "\n".join(out)
