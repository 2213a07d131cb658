"""Single output files the user names (--plot FILE, --docs FILE, the files of `coverage --out DIR`): never written
through a symbolic link, never over a file cevns did not write unless --force, refused before any computation."""

import os

import pytest

from cevns.cli import main
from cevns.outputs import check_output_file, figure_metadata, written_by_cevns


def _err(capsys):
    err = capsys.readouterr().err
    assert err.startswith("cevns: error: ") and err.count("\n") == 1, err
    return err


def test_plot_refuses_a_users_file_and_a_link_but_replaces_its_own(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.png").write_text("precious")
    assert main(["fit", "conus-plus", "--param", "sin2w", "--plot", "mine.png"]) == 2
    assert "not written by cevns" in _err(capsys) and (tmp_path / "mine.png").read_text() == "precious"
    (tmp_path / "link.png").symlink_to(tmp_path / "mine.png")
    assert main(["predict", "conus-plus", "--plot", "link.png"]) == 2
    assert "symbolic link" in _err(capsys) and (tmp_path / "mine.png").read_text() == "precious"
    # a figure cevns wrote is replaced on a rerun; --force replaces the user's file
    assert main(["fit", "conus-plus", "--param", "sin2w", "--plot", "new.png"]) == 0
    assert written_by_cevns(tmp_path / "new.png")
    assert main(["fit", "conus-plus", "--param", "sin2w", "--plot", "new.png"]) == 0
    assert main(["fit", "conus-plus", "--param", "sin2w", "--plot", "mine.png", "--force"]) == 0
    assert written_by_cevns(tmp_path / "mine.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.png", "mine.png", "new.png"]  # no temporary left


@pytest.mark.parametrize("ext, key", [("png", "Software"), ("pdf", "Creator"), ("svg", "Creator"), ("eps", "Creator"),
                                      ("jpg", None)])
def test_every_figure_format_is_marked_where_it_can_be(tmp_path, ext, key):
    from matplotlib.figure import Figure

    md = figure_metadata(f"x.{ext}")
    assert (md is None) == (key is None) and (md is None or "cevns" in md[key])
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    fig.savefig(tmp_path / f"x.{ext}", metadata=md)
    assert written_by_cevns(tmp_path / f"x.{ext}") == (key is not None)


def test_check_output_file(tmp_path):
    check_output_file(tmp_path / "absent.png", "--plot")  # a new file: fine
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(Exception, match="not a regular file"):
        check_output_file(tmp_path / "folder.png", "--plot")
    (tmp_path / "theirs.json").write_text("{}")
    with pytest.raises(Exception, match="not written by cevns"):
        check_output_file(tmp_path / "theirs.json", "--out")
    check_output_file(tmp_path / "theirs.json", "--out", force=True)


def test_docs_file_must_be_markdown_and_not_the_users(tmp_path, capsys):
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    out = tmp_path / "res"
    assert main(["reproduce", "--out", str(out), "--docs", str(notes)]) == 2
    assert "not written by cevns" in _err(capsys)
    assert main(["reproduce", "global", "--out", str(out), "--docs", str(tmp_path / "t.txt")]) == 2
    assert "Markdown" in _err(capsys)
    assert main(["reproduce", "--out", str(out), "--docs", str(tmp_path / "nowhere" / "v.md")]) == 2
    assert "does not exist" in _err(capsys)
    assert notes.read_text() == "# my notes\n" and not out.exists()


def test_coverage_out_refuses_before_computing(tmp_path, capsys):
    base = ["coverage", "conus-plus", "--param", "mu_nu", "--toys", "10", "--points", "3", "--workers", "0"]
    cov = tmp_path / "cov"
    cov.mkdir()
    (cov / "coverage.png").write_text("mine")
    assert main(base + ["--out", str(cov)]) == 2
    assert "not written by cevns" in _err(capsys) and (cov / "coverage.png").read_text() == "mine"
    assert sorted(os.listdir(cov)) == ["coverage.png"]  # no cache/ made
    for args, words in ((["--seed", "-1"], "--seed"), (["--toys", "100000000000"], "--toys")):
        argv = base[:4] + base[6:] + (["--toys", "10"] if "--toys" not in args else []) + args
        assert main(argv + ["--out", str(tmp_path / "c")]) == 2
        assert words in _err(capsys)
    assert main(["coverage", "conus-plus", "--param", "g", "--toys", "10", "--points", "3", "--workers", "0",
                 "--out", str(tmp_path / "c")]) == 2
    _err(capsys)
    assert not (tmp_path / "c").exists()  # a bad parameter leaves no folder behind


@pytest.mark.parametrize("argv, words", [
    (["exclusion", "conus-plus", "--model", "scalar", "--mass-min", "1e200", "--mass-max", "1e300"], "--mass-max"),
    (["fit", "conus-plus", "--param", "g", "--mediator", "scalar", "--mass", "1e300"], "--mass"),
    (["fit", "conus-plus", "--param", "g", "--mediator", "scalar", "--mass", "-5"], "--mass"),
])
def test_mediator_masses_beyond_10_TeV_are_refused(argv, words, capsys):
    assert main(argv) == 2
    assert words in _err(capsys)


def test_exclusion_api_refuses_huge_masses(exp):
    from cevns.errors import CevnsInputError

    with pytest.raises(CevnsInputError, match="at most 1e\\+07 MeV"):
        exp.exclusion("scalar", masses=[1.0, 1e9])


def test_outputs_get_the_permissions_of_ordinary_files(tmp_path):
    """Staged folders and atomically written files are made private by mkdtemp/mkstemp; cevns gives them what
    mkdir and open give (0777 / 0666 less the umask), so others can read a user's results as usual."""
    from cevns._files import write_atomically
    from cevns.outputs import StagedOutput

    old = os.umask(0o022)
    try:
        out = tmp_path / "res"
        with StagedOutput(out) as d:
            write_atomically(d / "results.json", "{}")
        assert (out.stat().st_mode & 0o777) == 0o755
        assert ((out / "results.json").stat().st_mode & 0o777) == 0o644
        os.umask(0o077)
        write_atomically(tmp_path / "private.txt", "x")
        assert ((tmp_path / "private.txt").stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


# --- the mark: only where cevns puts it (not the bytes "cevns" anywhere) --------------------------------------
def _users_files(d):
    """Files of a user's that mention cevns, but not where cevns puts its mark."""
    from matplotlib.figure import Figure

    (d / "notes.md").write_text("# notes\n\nTried `cevns reproduce` today; cevns 0.1.0 (matplotlib) looks fine.\n")
    (d / "talk.svg").write_text('<?xml version="1.0"?>\n<!-- figure for the cevns talk; <metadata><dc:creator><cc:Agent>'
                                '<dc:title>cevns 0.1 --> <svg xmlns="http://www.w3.org/2000/svg"><text>cevns</text></svg>\n')
    fig = Figure()
    fig.add_subplot().set_title("cevns")
    fig.savefig(d / "talk.png", metadata={"Title": "cevns 0.1.0 (matplotlib)", "Author": "cevns"})
    fig.savefig(d / "talk.pdf", metadata={"Title": "cevns 0.1.0 (matplotlib)", "Subject": "cevns"})
    fig.savefig(d / "talk.eps", metadata={"Title": "cevns 0.1.0"})
    (d / "result.json").write_text('{"comment": "cevns-result/1 of cevns", "format": "mine"}\n')
    return ["notes.md", "talk.svg", "talk.png", "talk.pdf", "talk.eps", "result.json"]


def test_a_users_file_that_mentions_cevns_is_not_cevns_s(tmp_path):
    for name in _users_files(tmp_path):
        assert not written_by_cevns(tmp_path / name), name
        with pytest.raises(Exception, match="not written by cevns"):
            check_output_file(tmp_path / name, "--plot")


def test_the_mark_where_cevns_puts_it(tmp_path):
    from matplotlib.figure import Figure

    from cevns.outputs import MARKDOWN_MARK

    (tmp_path / "v.md").write_text(MARKDOWN_MARK + " reproduce --docs v.md`; do not edit by hand -->\n# x\n")
    (tmp_path / "late.md").write_text("# x\n" + MARKDOWN_MARK + " reproduce`\n")  # the first line only
    (tmp_path / "r.json").write_text('{\n  "format": "cevns-result/1",\n  "result": {}\n}\n')
    assert written_by_cevns(tmp_path / "v.md") and written_by_cevns(tmp_path / "r.json")
    assert not written_by_cevns(tmp_path / "late.md")
    for ext in ("png", "pdf", "svg", "eps", "ps"):
        fig = Figure()
        fig.add_subplot().plot([0, 1])
        fig.savefig(tmp_path / f"f.{ext}", metadata=figure_metadata(f"f.{ext}"))
        assert written_by_cevns(tmp_path / f"f.{ext}"), ext


def test_docs_and_plot_refuse_a_users_file_mentioning_cevns(tmp_path, capsys, monkeypatch):
    """The issue's cases: `--docs notes.md` whose text mentions cevns, `--plot talk.svg` with cevns in a comment:
    refused before any computation without --force, replaced with it."""
    monkeypatch.chdir(tmp_path)
    _users_files(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["reproduce", "--out", "res", "--docs", "notes.md"]) == 2
    assert "not written by cevns" in _err(capsys)
    for fig in ("talk.svg", "talk.png", "talk.pdf"):
        assert main(["predict", "conus-plus", "--plot", fig]) == 2
        assert "not written by cevns" in _err(capsys)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written, nothing made
    assert main(["predict", "conus-plus", "--plot", "talk.svg", "--force"]) == 0
    assert written_by_cevns(tmp_path / "talk.svg")
    assert main(["predict", "conus-plus", "--plot", "talk.svg"]) == 0  # now cevns's: replaced without --force


def test_coverage_out_refuses_a_users_json_mentioning_cevns(tmp_path, capsys):
    cov = tmp_path / "cov"
    cov.mkdir()
    (cov / "coverage.json").write_text('{"note": "made with cevns", "format": "cevns"}\n')
    assert main(["coverage", "conus-plus", "--param", "mu_nu", "--toys", "10", "--points", "3", "--workers", "0",
                 "--out", str(cov)]) == 2
    assert "not written by cevns" in _err(capsys)
    assert sorted(os.listdir(cov)) == ["coverage.json"]


def test_a_docs_file_cevns_wrote_is_replaced_without_force(tmp_path):
    """The first line reproduce writes into --docs is the mark: the next run replaces the file without --force."""
    from cevns.outputs import check_docs_file
    from cevns.reproduce import write_study

    docs = tmp_path / "v.md"
    write_study(tmp_path / "res", {"results": {}, "figure_data": {}}, "paper", lambda r: "# table\n", docs=str(docs),
                command="cevns reproduce --docs v.md", draw=lambda results, d: [])
    assert written_by_cevns(docs) and docs.read_text().endswith("# table\n")
    check_docs_file(docs)  # no --force needed
