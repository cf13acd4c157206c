"""The statutory-services pages and their JSON twins, served by a real `tenderwatch serve` on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import httpx

from tests.services.conftest import HOSTILE_NAME, HOSTILE_SUBCONTRACTOR


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30)


def main_part(html: str) -> str:
    return html[html.index("<main>") : html.index("</main>")]


def test_a_buyers_page_shows_each_service_with_its_score_parts_and_evidence(services_server: str) -> None:
    response = get(services_server + "/services/buyers/GB-LAE-RVQ")

    assert response.status_code == 200
    page = main_part(response.text)
    assert "Children&#39;s therapies: 80 of 100" in page
    assert 'href="https://www.legislation.gov.uk/ukpga/2014/6/section/42"' in page
    assert "provider exit: Tresswyn Therapy Services Ltd&#39;s contract" in page
    # the processes the evidence names are shown by their titles
    interim = 'href="/processes/ocds-twdemo-000009">Interim integrated therapies for children and young people</a>'
    assert f"{interim}: The contract was awarded without" in page
    assert 'href="/processes/ocds-twdemo-000008">Integrated therapies for children and young people</a>;' in page
    assert "<td>Urgency direct awards</td><td>1.00</td><td>1.0</td>" in page
    assert "style=" not in page and "<script" not in page

    data = get(services_server + "/api/services/buyers/GB-LAE-RVQ").json()
    assert data["services"][0]["score"] == 80.0 and data["services"][0]["parts"][0]["part"] == "dominant_provider"


def test_a_suppliers_exit_page_lists_services_duties_and_alternatives(services_server: str) -> None:
    page = main_part(get(services_server + "/services/exit/GB-COH-98203318").text)

    assert "<h1>If Tresswyn Therapy Services Ltd walked away</h1>" in page
    assert "2 statutory services of 2 public bodies would lose a provider" in page
    assert "Vennmoor Community Health NHS Trust</a> (public body)" in page

    data = get(services_server + "/api/services/exit/GB-COH-98203318").json()
    assert [duty["duty_id"] for duty in data["duties"]] == ["cfa-2014-s42", "nhs-2006-s3"]
    assert {service["commissioner_name"] for service in data["services"]} == {
        "Ravensholt Borough Council",
        "Greyvale Clinical Commissioning Group",
    }
    assert get(services_server + "/services/exit/nobody-here").status_code == 404
    assert get(services_server + "/api/services/exit/Ltd").status_code == 400


def test_the_chain_page_draws_the_chain_as_a_server_made_svg(services_server: str) -> None:
    page = main_part(get(services_server + "/services/chains/ocds-twdemo-000003").text)
    assert "the work goes 3 levels of subcontracting below the prime contractor" in page
    assert '<img src="/services/chains/ocds-twdemo-000002/graph.svg"' in page

    response = get(services_server + "/services/chains/ocds-twdemo-000002/graph.svg")
    assert response.headers["content-type"] == "image/svg+xml"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    svg = ET.fromstring(response.text)  # noqa: S314 - our own server's answer
    namespace = "{http://www.w3.org/2000/svg}"
    boxes = svg.findall(f".//{namespace}rect")
    arrows = svg.findall(f".//{namespace}line")
    texts = " ".join(node.text or "" for node in svg.iter(f"{namespace}text"))
    assert len(boxes) == 5 and len(arrows) == 4  # the buyer and four suppliers, one arrow between each
    assert "Sub-sub-subcontractor" in texts and "Ashvane Payroll Services Ltd" in texts
    assert not any("style" in node.attrib for node in svg.iter())

    chain = get(services_server + "/api/services/chains/ocds-twdemo-000005").json()
    assert chain["depth"] == 3 and [node["level"] for node in chain["nodes"]] == [1, 2, 3, 4]
    assert get(services_server + "/services/chains/ocds-twdemo-000010").status_code == 404

    # The contract page of the national contract shows the chain's depth and its graph.
    contract = get(services_server + "/processes/ocds-twdemo-000002").text
    assert '<img src="/services/chains/ocds-twdemo-000002/graph.svg"' in contract
    assert "Subcontracted 3 levels deep below the prime contractor" in contract


def test_hostile_names_are_escaped_in_pages_and_graphs(services_server: str) -> None:
    page = get(services_server + "/services/exit/GB-COH-90000001").text
    assert HOSTILE_NAME not in page and "&lt;img src=x onerror=alert(1)&gt; Homecare Ltd" in page

    graph = get(services_server + "/services/chains/ocds-twtest-900001/graph.svg").text
    ET.fromstring(graph)  # noqa: S314 - our own server's answer; it must still be well-formed
    assert HOSTILE_SUBCONTRACTOR not in graph and "&lt;/text&gt;&lt;script&gt;" in graph


def test_the_overview_and_the_risk_list_with_csv(services_server: str) -> None:
    page = main_part(get(services_server + "/services").text)
    assert "Children and Families Act 2014, section 42" in page
    assert 'href="/services/buyers/GB-LAE-RVQ">Ravensholt Borough Council</a>' in page

    page = main_part(get(services_server + "/services/risk?band=high&area=childrens_therapies").text)
    assert page.count("<td>Children&#39;s therapies</td>") == 2

    response = get(services_server + "/api/services/risk?format=csv&area=childrens_therapies")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.headers["content-type"].startswith("text/csv")
    assert {row["commissioner_name"] for row in rows} == {
        "Ravensholt Borough Council",
        "Greyvale Clinical Commissioning Group",
    }
    assert get(services_server + "/api/services/risk?band=bogus").status_code == 422


def test_a_contract_page_says_what_put_it_in_a_statutory_service_in_words(services_server: str) -> None:
    # the contact-tracing contract is in its area because its text says "contact-tracing": the page quotes the
    # words found, not the pattern that found them
    contract = get(services_server + "/processes/ocds-twdemo-000002").text
    start = contract.index('<p class="services-links">')
    line = contract[start : contract.index("</p>", start)]
    assert ">Contact tracing and health protection</a>" in line
    assert "(found: &#34;contact-tracing&#34;)" in line or "(found: &quot;contact-tracing&quot;)" in line
    shown = re.sub(r'title="[^"]*"', "", line)  # the rule itself is there for whoever points at it
    assert "\\b" not in shown and "[- ]" not in shown
