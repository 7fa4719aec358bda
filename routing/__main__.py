"""Command line: ``python -m routing solve PROBLEM.json --time-limit S > SOLUTION.json`` and
``python -m routing check PROBLEM.json SOLUTION.json`` (prints the checker's verdict as JSON;
exit status 1 when the solution is infeasible)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from routing.checker import check
from routing.io import problem_from_json, solution_from_json, solution_to_json
from routing.model import ProblemError
from routing.solver import solve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    solve_cmd = sub.add_parser("solve", help="solve a problem document, print the solution")
    solve_cmd.add_argument("problem", type=Path)
    solve_cmd.add_argument("--time-limit", type=float, required=True, help="seconds")
    solve_cmd.add_argument("--seed", type=int, default=0)
    check_cmd = sub.add_parser("check", help="check a solution document against its problem")
    check_cmd.add_argument("problem", type=Path)
    check_cmd.add_argument("solution", type=Path)
    args = parser.parse_args(argv)
    try:
        problem = problem_from_json(json.loads(args.problem.read_text()))
        if args.command == "solve":
            solution = solve(problem, time_limit_s=args.time_limit, seed=args.seed)
        else:
            solution = solution_from_json(problem, json.loads(args.solution.read_text()))
    except (ProblemError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = check(problem, solution)
    json.dump(solution_to_json(problem, solution, report), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if report.feasible or args.command == "solve" else 1


if __name__ == "__main__":
    sys.exit(main())
