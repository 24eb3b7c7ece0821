from verity.accounts import access
from verity.search.services import search_cards


def test_outsider_cannot_find_card(cast):
    assert search_cards(user=cast.sales_reader, query="discount").total == 1
    assert search_cards(user=cast.outsider, query="discount").total == 0
    assert not access.cards_for(cast.outsider).exists()
