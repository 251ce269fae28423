"""ISO 3166-1 alpha-2 country codes and their English short names, for the address forms."""

_ISO_3166 = """\
AF Afghanistan|AX Åland Islands|AL Albania|DZ Algeria|AS American Samoa|AD Andorra|AO Angola|\
AI Anguilla|AQ Antarctica|AG Antigua and Barbuda|AR Argentina|AM Armenia|AW Aruba|AU Australia|\
AT Austria|AZ Azerbaijan|BS Bahamas|BH Bahrain|BD Bangladesh|BB Barbados|BY Belarus|BE Belgium|\
BZ Belize|BJ Benin|BM Bermuda|BT Bhutan|BO Bolivia|BQ Bonaire, Sint Eustatius and Saba|\
BA Bosnia and Herzegovina|BW Botswana|BV Bouvet Island|BR Brazil|IO British Indian Ocean Territory|\
BN Brunei Darussalam|BG Bulgaria|BF Burkina Faso|BI Burundi|CV Cabo Verde|KH Cambodia|CM Cameroon|\
CA Canada|KY Cayman Islands|CF Central African Republic|TD Chad|CL Chile|CN China|CX Christmas Island|\
CC Cocos (Keeling) Islands|CO Colombia|KM Comoros|CG Congo|CD Congo, Democratic Republic of the|\
CK Cook Islands|CR Costa Rica|CI Côte d'Ivoire|HR Croatia|CU Cuba|CW Curaçao|CY Cyprus|CZ Czechia|\
DK Denmark|DJ Djibouti|DM Dominica|DO Dominican Republic|EC Ecuador|EG Egypt|SV El Salvador|\
GQ Equatorial Guinea|ER Eritrea|EE Estonia|SZ Eswatini|ET Ethiopia|FK Falkland Islands (Malvinas)|\
FO Faroe Islands|FJ Fiji|FI Finland|FR France|GF French Guiana|PF French Polynesia|\
TF French Southern Territories|GA Gabon|GM Gambia|GE Georgia|DE Germany|GH Ghana|GI Gibraltar|\
GR Greece|GL Greenland|GD Grenada|GP Guadeloupe|GU Guam|GT Guatemala|GG Guernsey|GN Guinea|\
GW Guinea-Bissau|GY Guyana|HT Haiti|HM Heard Island and McDonald Islands|VA Holy See|HN Honduras|\
HK Hong Kong|HU Hungary|IS Iceland|IN India|ID Indonesia|IR Iran|IQ Iraq|IE Ireland|IM Isle of Man|\
IL Israel|IT Italy|JM Jamaica|JP Japan|JE Jersey|JO Jordan|KZ Kazakhstan|KE Kenya|KI Kiribati|\
KP Korea, Democratic People's Republic of|KR Korea, Republic of|KW Kuwait|KG Kyrgyzstan|\
LA Lao People's Democratic Republic|LV Latvia|LB Lebanon|LS Lesotho|LR Liberia|LY Libya|\
LI Liechtenstein|LT Lithuania|LU Luxembourg|MO Macao|MG Madagascar|MW Malawi|MY Malaysia|MV Maldives|\
ML Mali|MT Malta|MH Marshall Islands|MQ Martinique|MR Mauritania|MU Mauritius|YT Mayotte|MX Mexico|\
FM Micronesia|MD Moldova|MC Monaco|MN Mongolia|ME Montenegro|MS Montserrat|MA Morocco|MZ Mozambique|\
MM Myanmar|NA Namibia|NR Nauru|NP Nepal|NL Netherlands|NC New Caledonia|NZ New Zealand|NI Nicaragua|\
NE Niger|NG Nigeria|NU Niue|NF Norfolk Island|MK North Macedonia|MP Northern Mariana Islands|NO Norway|\
OM Oman|PK Pakistan|PW Palau|PS Palestine, State of|PA Panama|PG Papua New Guinea|PY Paraguay|PE Peru|\
PH Philippines|PN Pitcairn|PL Poland|PT Portugal|PR Puerto Rico|QA Qatar|RE Réunion|RO Romania|\
RU Russian Federation|RW Rwanda|BL Saint Barthélemy|SH Saint Helena, Ascension and Tristan da Cunha|\
KN Saint Kitts and Nevis|LC Saint Lucia|MF Saint Martin (French part)|PM Saint Pierre and Miquelon|\
VC Saint Vincent and the Grenadines|WS Samoa|SM San Marino|ST Sao Tome and Principe|SA Saudi Arabia|\
SN Senegal|RS Serbia|SC Seychelles|SL Sierra Leone|SG Singapore|SX Sint Maarten (Dutch part)|\
SK Slovakia|SI Slovenia|SB Solomon Islands|SO Somalia|ZA South Africa|\
GS South Georgia and the South Sandwich Islands|SS South Sudan|ES Spain|LK Sri Lanka|SD Sudan|\
SR Suriname|SJ Svalbard and Jan Mayen|SE Sweden|CH Switzerland|SY Syrian Arab Republic|TW Taiwan|\
TJ Tajikistan|TZ Tanzania|TH Thailand|TL Timor-Leste|TG Togo|TK Tokelau|TO Tonga|\
TT Trinidad and Tobago|TN Tunisia|TR Türkiye|TM Turkmenistan|TC Turks and Caicos Islands|TV Tuvalu|\
UG Uganda|UA Ukraine|AE United Arab Emirates|GB United Kingdom|US United States|\
UM United States Minor Outlying Islands|UY Uruguay|UZ Uzbekistan|VU Vanuatu|VE Venezuela|VN Viet Nam|\
VG Virgin Islands (British)|VI Virgin Islands (U.S.)|WF Wallis and Futuna|EH Western Sahara|YE Yemen|\
ZM Zambia|ZW Zimbabwe"""

COUNTRIES: dict[str, str] = dict(entry.split(" ", 1) for entry in _ISO_3166.split("|"))


def country_name(code: str) -> str:
    """Return the country's name for an ISO code, or the code itself when unknown."""
    return COUNTRIES.get(code, code)

# ISO 3166-2 subdivisions of the countries whose addresses need one, without the country prefix:
# a code is what the post, the order and Stripe's `state` carry ("OR", "ON", "NSW").
_US_STATES = """\
AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|CT Connecticut|DE Delaware|\
DC District of Columbia|FL Florida|GA Georgia|HI Hawaii|ID Idaho|IL Illinois|IN Indiana|IA Iowa|KS Kansas|\
KY Kentucky|LA Louisiana|ME Maine|MD Maryland|MA Massachusetts|MI Michigan|MN Minnesota|MS Mississippi|\
MO Missouri|MT Montana|NE Nebraska|NV Nevada|NH New Hampshire|NJ New Jersey|NM New Mexico|NY New York|\
NC North Carolina|ND North Dakota|OH Ohio|OK Oklahoma|OR Oregon|PA Pennsylvania|RI Rhode Island|\
SC South Carolina|SD South Dakota|TN Tennessee|TX Texas|UT Utah|VT Vermont|VA Virginia|WA Washington|\
WV West Virginia|WI Wisconsin|WY Wyoming|AS American Samoa|GU Guam|MP Northern Mariana Islands|PR Puerto Rico|\
VI U.S. Virgin Islands"""
_CA_PROVINCES = """\
AB Alberta|BC British Columbia|MB Manitoba|NB New Brunswick|NL Newfoundland and Labrador|NS Nova Scotia|\
NT Northwest Territories|NU Nunavut|ON Ontario|PE Prince Edward Island|QC Quebec|SK Saskatchewan|YT Yukon"""
_AU_STATES = """\
ACT Australian Capital Territory|NSW New South Wales|NT Northern Territory|QLD Queensland|SA South Australia|\
TAS Tasmania|VIC Victoria|WA Western Australia"""


def _codes(table: str) -> dict[str, str]:
    return dict(entry.split(" ", 1) for entry in table.split("|"))


# The countries whose addresses must name a region from the list, in the order the forms show them.
REGIONS: dict[str, dict[str, str]] = {"US": _codes(_US_STATES), "CA": _codes(_CA_PROVINCES), "AU": _codes(_AU_STATES)}
# What each listed country calls its regions, and the country's name in a sentence.
REGION_KINDS = {"US": "state", "CA": "province or territory", "AU": "state or territory"}
_IN_A_SENTENCE = {"US": "the United States", "CA": "Canada", "AU": "Australia"}
# The last line before the country, as each listed country's post writes it.
_LOCALITY_LINES = {
    "US": "{city}, {region} {postal_code}",  # Portland, OR 97201
    "CA": "{city} {region} {postal_code}",  # Toronto ON M5V 2T6
    "AU": "{city} {region} {postal_code}",  # Sydney NSW 2000
}
# The label of the free-text field for the regions of other countries, named in messages.
OTHER_REGION_LABEL = "County / region (optional)"


class RegionRefused(ValueError):
    """The region does not belong to the country, or a country that needs one has none."""


def region_option(country: str, code: str) -> str:
    """Return the region list's value for a region: its full ISO 3166-2 code ("US-OR")."""
    return f"{country}-{code}"


def region_name(country: str, region: str) -> str:
    """Return a region's name ("Oregon" for US and "OR"), or the region as stored when the country has no list."""
    return REGIONS.get(country, {}).get(region, region)


def _match_typed(country: str, typed: str) -> str | None:
    """Return the code of a listed region typed by code or name ("or", "Oregon"), None if none matches."""
    wanted = typed.casefold()
    return next((code for code, name in REGIONS[country].items() if wanted in (code.casefold(), name.casefold())),
                None)


def checked_region(country: str, chosen: str, typed: str) -> str:
    """Return the region to store for an address: a listed country's code, else the typed text.

    `chosen` is the region list's value ("US-OR", or "" when nothing is chosen) and `typed` the free
    text for countries without a list. A listed country takes a region typed by its code or name too,
    as a browser without JavaScript shows both fields. Raise RegionRefused, saying what to do, otherwise.
    """
    chosen, typed = chosen.strip(), typed.strip()
    if chosen:
        chosen_country, _, code = chosen.partition("-")
        if code not in REGIONS.get(chosen_country, {}):
            raise RegionRefused("Please choose a state, province or territory from the list.")
        if chosen_country != country:
            where = f"{REGIONS[chosen_country][code]} is in {_IN_A_SENTENCE[chosen_country]}"
            if country in REGIONS:
                raise RegionRefused(f"{where}. Please choose a {REGION_KINDS[country]} of "
                                    f"{_IN_A_SENTENCE[country]}, or change the country.")
            raise RegionRefused(f"{where}, but the country chosen is {country_name(country)}. Leave the state list "
                                f"at “Choose…” and type the county or region, if any, in “{OTHER_REGION_LABEL}”.")
        return code
    if country not in REGIONS:
        return typed
    matched = _match_typed(country, typed) if typed else None
    if matched is None:
        raise RegionRefused(f"Please choose the {REGION_KINDS[country]}.")
    return matched


def format_address_lines(name: str, line1: str, line2: str, city: str, region: str, postal_code: str,
                         country: str) -> list[str]:
    """Return an address's lines as the destination's post writes them, ending with the country's name.

    The United States, Canada and Australia put the region's code between the city and the postal
    code ("Portland, OR 97201"); other countries write the postal code, the city, then any region.
    """
    pattern = _LOCALITY_LINES.get(country)
    region_line = ""
    if pattern is None:
        locality, region_line = f"{postal_code} {city}", region
    elif region:
        locality = pattern.format(city=city, region=region, postal_code=postal_code)
    else:  # saved before regions were asked for
        locality = f"{city} {postal_code}"
    lines = [name, line1, line2, locality.strip(), region_line, country_name(country)]
    return [line for line in lines if line]
