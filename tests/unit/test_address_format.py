"""Address lines as each country's post writes them, and regions checked against their country."""
import pytest

from shop.checkout.countries import REGIONS, RegionRefused, checked_region, format_address_lines, region_name


@pytest.mark.parametrize("city, region, postal_code, country, locality", [
    ("Portland", "OR", "97201", "US", "Portland, OR 97201"),
    ("Toronto", "ON", "M5V 2T6", "CA", "Toronto ON M5V 2T6"),
    ("Sydney", "NSW", "2000", "AU", "Sydney NSW 2000"),
    ("Portland", "", "97201", "US", "Portland 97201"),  # saved before regions were asked for
])
def test_listed_countries_put_the_region_code_between_city_and_postal_code(city, region, postal_code, country,
                                                                            locality):
    assert format_address_lines("Pat Doe", "1 Main St", "", city, region, postal_code, country)[2] == locality


def test_other_countries_write_postal_code_then_city_then_any_region():
    assert format_address_lines("Ada", "1 Quay St", "Flat 2", "Bristol", "Avon", "BS1 4DJ", "GB") == [
        "Ada", "1 Quay St", "Flat 2", "BS1 4DJ Bristol", "Avon", "United Kingdom"]
    assert format_address_lines("Ada", "1 Quay St", "", "Bristol", "", "BS1 4DJ", "GB") == [
        "Ada", "1 Quay St", "BS1 4DJ Bristol", "United Kingdom"]


def test_the_lists_hold_every_state_province_and_territory():
    assert len(REGIONS["US"]) == 56  # 50 states, DC and five inhabited territories
    assert len(REGIONS["CA"]) == 13 and len(REGIONS["AU"]) == 8
    assert region_name("US", "OR") == "Oregon" and region_name("GB", "Kent") == "Kent"


@pytest.mark.parametrize("country, chosen, typed, stored", [
    ("US", "US-OR", "", "OR"), ("US", "US-OR", "Kent", "OR"), ("US", "", " new york ", "NY"), ("AU", "", "nsw", "NSW"),
    ("GB", "", " Kent ", "Kent"), ("GB", "", "", ""),
])
def test_a_region_is_stored_as_its_code_or_as_typed(country, chosen, typed, stored):
    assert checked_region(country, chosen, typed) == stored


@pytest.mark.parametrize("country, chosen, typed", [
    ("US", "", ""), ("US", "", "Ontario"), ("US", "CA-ON", ""), ("GB", "US-OR", ""), ("US", "US-XX", ""),
    ("US", "OR", ""),
])
def test_a_missing_unknown_or_foreign_region_is_refused(country, chosen, typed):
    with pytest.raises(RegionRefused):
        checked_region(country, chosen, typed)
