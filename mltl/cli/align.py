"""`mltl align`: map several languages' vectors into the hub language's space."""
from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("align")
    def align(
        files: List[str] = typer.Argument(..., help="Vector files (.vec, .bin, .npy or compact directory), "
                                                    "one per language, hub included."),
        output: str = typer.Option(..., "--output", "-o", help="Output directory: LANG.vec (or --out-format) "
                                   "per language + alignment.json."),
        hub: str = typer.Option("en", "--hub", help="Language whose space the others are mapped into."),
        langs: Optional[str] = typer.Option(None, "--langs", help="Comma-separated language of each file "
                                            "(default: each file's stem, de.vec -> de)."),
        method: str = typer.Option("unsupervised", "--method", "-m",
                                   help="supervised (needs --dict) | identical | unsupervised."),
        dict_spec: Optional[str] = typer.Option(None, "--dict", help="Training dictionary (MUSE format "
                                                "'src tgt' per line): a file (one non-hub language) or a "
                                                "directory with LANG-HUB*.txt files."),
        eval_dict: Optional[str] = typer.Option(None, "--eval-dict", help="Test dictionary file or "
                                                "directory: report BLI after alignment."),
        max_vocab: Optional[int] = typer.Option(200000, "--max-vocab", help="Keep the N most frequent words "
                                                "of each language."),
        normalize: str = typer.Option("unit,center,unit", "--normalize", help="unit | center | "
                                      "unit,center,unit | none (applied before mapping, kept in the output)."),
        refine_vocab: int = typer.Option(20000, "--refine-vocab", help="Words per language used to induce "
                                         "dictionaries during self-learning."),
        max_iters: int = typer.Option(10, "--max-iters", help="Max iterations of the final refinement "
                                      "(Procrustes + CSLS dictionary, every method; it stops earlier once the "
                                      "objective stops improving). Not the stochastic dictionary induction "
                                      "that --method unsupervised runs before it: that one ends by itself "
                                      "(at most 100 iterations)."),
        csls_k: int = typer.Option(10, "--csls-k", help="Neighbourhood size of CSLS."),
        seed: int = typer.Option(0, "--seed", help="Random seed (unsupervised mode)."),
        out_format: str = typer.Option("vec", "--out-format", help="vec | npy | dir (compact binary loads "
                                       "in milliseconds)."),
        dtype: str = typer.Option("float32", "--dtype", help="float32 | float16 for npy/dir output."),
        force: bool = typer.Option(False, "--force", help="Replace an existing output directory."),
        json_out: bool = typer.Option(False, "--json", help="Print alignment.json to stdout too."),
    ) -> None:
        """Map every language's vectors into the hub's space with orthogonal maps
        (Procrustes + CSLS self-learning; fully unsupervised by default).

        Examples:

          mltl align --hub en vectors/en.vec vectors/de.vec vectors/es.vec -o aligned/

          mltl align --hub en en.vec de.vec --method supervised --dict dicts/ --eval-dict dicts/ -o aligned/
        """
        import json

        from mltl.embeddings.align import run_align

        report = run_align(files, output, hub=hub, langs=langs, method=method, dict_spec=dict_spec,
                           eval_dict=eval_dict, max_vocab=max_vocab, normalize=normalize,
                           refine_vocab=refine_vocab, max_iters=max_iters, csls_k=csls_k, seed=seed,
                           out_format=out_format, dtype=dtype, force=force)
        if json_out:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
            return
        for p in report["pairs"]:
            line = (f"{p['src']}->{p['tgt']}: {p['method']}, seed {p['seed_pairs']} pairs, "
                    f"{p['iterations']} iterations, final dictionary "
                    f"{p['dictionary_sizes'][-1] if p['dictionary_sizes'] else p['seed_pairs']} pairs, "
                    f"{p['seconds']:.1f} s")
            bli = report.get("bli", {}).get(p["src"])
            if bli:
                line += (f"; BLI P@1 nn {bli['nn']['p@1']:.1f} csls {bli['csls']['p@1']:.1f} "
                         f"({bli['queries']} queries)")
            typer.echo(line)
        typer.echo(f"wrote {output}/ ({report['seconds']:.1f} s)")
