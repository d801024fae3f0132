from server.domain.contributions import HeatCell, contributor_role, heat

STAGES = ["initial_contact", "needs_analysis", "solution_confirmed", "price_comparison"]


def test_contributor_role_prefers_the_specialist_role():
    assert contributor_role(("rep", "presales")) == "presales"
    assert contributor_role(("manager", "rep")) == "rep"
    assert contributor_role(("legal",)) == "legal"
    assert contributor_role(()) == "rep"


def test_heat_matrix_and_shares_computed_by_hand():
    cells = [HeatCell(role="presales", stage="solution_confirmed", count=3, advanced=2),
             HeatCell(role="presales", stage="needs_analysis", count=1, advanced=1),
             HeatCell(role="rep", stage="initial_contact", count=4, advanced=0),
             HeatCell(role="delivery", stage="price_comparison", count=2, advanced=1)]
    h = heat(cells, STAGES)
    assert h.roles == ["presales", "delivery", "rep"]
    assert h.counts == [[0, 1, 3, 0], [0, 0, 0, 2], [4, 0, 0, 0]]
    assert h.total == 10
    assert h.share_by_role == {"presales": 0.4, "delivery": 0.2, "rep": 0.4}
    # 4 contributions preceded a step forward: presales 3 of them, delivery 1
    assert h.progress_share_by_role == {"presales": 0.75, "delivery": 0.25, "rep": 0.0}


def test_heat_of_nothing():
    h = heat([], STAGES)
    assert (h.roles, h.total, h.share_by_role) == ([], 0, {})
    assert h.counts == []
