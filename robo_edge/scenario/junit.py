"""One JUnit XML file for a whole scenario run, so CI systems show each scenario as a test."""

import xml.etree.ElementTree as ElementTree
from pathlib import Path


def write_junit(path: Path, suite_name: str, results: list[dict]) -> None:
    """Write results (each with name, passed, failures, wall_time_s) as a JUnit testsuite."""
    failed = sum(1 for r in results if not r['passed'])
    suite = ElementTree.Element(
        'testsuite', name=suite_name, tests=str(len(results)), failures=str(failed),
        errors='0', skipped='0',
        time=f'{sum(float(r.get("wall_time_s", 0.0)) for r in results):.3f}',
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, 'testcase', classname=suite_name, name=result['name'],
            time=f'{float(result.get("wall_time_s", 0.0)):.3f}',
        )
        if not result['passed']:
            failure = ElementTree.SubElement(
                case, 'failure', message='; '.join(result['failures'])[:500]
            )
            failure.text = '\n'.join(result['failures'])
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suite).write(path, encoding='utf-8', xml_declaration=True)
