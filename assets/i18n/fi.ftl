# Kasse, kassaikkuna: suomi.
# Argumentit kuten { $amount } on jo muotoiltu (summat kassan muodossa).

## Yhteiset
common-close = Sulje

## Ympäristömerkit (tilarivi). Tuotanto ei saa koskaan näyttää testiltä.
env-demo = DEMO · simulaattori, ei oikeaa rahaa
env-test = TESTI · ei oikeaa rahaa
env-production = TUOTANTO · oikeita maksuja
env-simulator = SIMULAATTORI · ei oikeaa rahaa

## Tilarivi
tab-sale = Myynti
tab-history = Historia
tab-admin = Ylläpito
status-relay-connected = Välitin yhdistetty
status-relay-connecting = Välitin yhdistää…
status-relay-reconnecting = Välitin yhdistää uudelleen (yritys { $attempt })
status-relay-not-configured = Ei välitintä: asiakkaat eivät voi skannata
status-vipps-reachable = Vipps vastaa
status-vipps-unreachable = Vipps ei vastaa
status-vipps-unknown = Vipps…
status-customer-waiting = Asiakas odottaa
status-one-time-qr = Kertakäyttöinen QR
status-engine-stopped = Maksumoottori on pysähtynyt. Käynnistä kassa uudelleen.
status-settings-not-saved = Asetuksia ei tallennettu: { $error }
status-recovered-unresolved = { $unresolved } keskeneräistä maksua ei ole vielä selvitetty; kassa yrittää edelleen.
demo-banner = Demotila: sisäänrakennettu Vipps-simulaattori toimii Vippsin sijaan, eikä oikeaa rahaa liiku. Käytä oikealla olevaa simuloitua puhelinta. Oikean kassan käyttöönotto: Ylläpito → Yhteys.
training-banner = HARJOITUSTILA · oikeaa rahaa ei liiku; kuitit ovat «Treningskvittering». Esimies lopettaa sen Raporteissa.

## Myynti
sale-search-placeholder = Hae tai skannaa viivakoodi
sale-scanning = Skannataan: { $code }
sale-unknown-barcode = Tuntematon viivakoodi { $code }
sale-refused = Ei mahdollista: { $reason }
sale-category-all = Kaikki
sale-catalog-empty = Tuoteluettelo on tyhjä. Lisää tuotteita kohdassa Ylläpito → Tuoteluettelo (F4) tai tuo CSV-tiedosto.
sale-no-items = Ei sopivia tuotteita.
sale-price-per-kg = { $price } / kg
sale-basket = Ostoskori
sale-basket-empty = Napauta tuotetta tai skannaa viivakoodi.
sale-clear = Tyhjennä
sale-line-discount = alennus { $amount }
sale-basket-discount = Alennus koko korista
sale-subtotal = Välisumma
sale-discount = Alennus
sale-vat-line = ALV { $rate } summasta { $base }
sale-total = Yhteensä
sale-customer-waiting = Asiakas on skannannut ja odottaa: paina Maksa.
sale-not-this-customer = Ei tämä asiakas
sale-pay = Maksa { $amount }  (Enter)
sale-pay-empty = Maksa
sale-discount-line-title = Alennus: { $name }
sale-discount-basket-title = Alennus koko korista
sale-discount-hint = Kirjoita prosentti (10 %) tai summa (25,00).
sale-discount-apply = Käytä
sale-discount-remove = Poista alennus
sale-discount-invalid = Kirjoita prosentti kuten 10 % tai summa kuten 25,00.
sale-weight-title = Paino kiloina
sale-weight-add = Lisää
sale-weight-invalid = Kirjoita paino kiloina, esim. 0,350.

## Maksu
pay-to-pay = Maksettava
pay-amount = Summa { $amount }
pay-scan-hint = Skannaa Vipps- tai MobilePay-sovelluksella
pay-qr-missing = Kassan QR-koodi ei ole vielä valmis. Katso tilariviä tai lähetä maksu asiakkaan puhelinnumeroon.
pay-progress = Maksu
pay-step-waiting = Odotetaan, että asiakas skannaa
pay-step-checked-in = Asiakas skannasi: pyyntöä lähetetään
pay-step-request-sent = Pyyntö lähetetty asiakkaan puhelimeen
pay-step-approved = Asiakas hyväksyi
pay-step-captured = Maksu vastaanotettu
pay-reference = Vipps-viite: { $reference }
pay-retrying = Kassa yrittää edelleen.
pay-cancelling = Perutaan… kori avautuu, kun Vipps vahvistaa.
pay-send-to-phone = Lähetä puhelinnumeroon (F8)
pay-one-time-qr = Näytä QR-koodi tälle maksulle
pay-one-time-hint = QR-koodi vain tälle maksulle: skannaa kameralla tai Vipps- tai MobilePay-sovelluksella
pay-one-time-expires = Voimassa vielä { $time }
pay-one-time-relay-down = Välityspalvelimeen ei saada yhteyttä, joten kassan oma QR-koodi ei toimisi. Se palaa, kun yhteys palaa.
pay-cancel = Peru (Esc)
pay-retry = Yritä uudelleen (F5)
pay-back-to-basket = Takaisin koriin (Esc)
pay-declined-title = Hylätty
pay-declined-next = Asiakas hylkäsi sovelluksessa. Yritä uudelleen tai ota vastaan muu maksutapa.
pay-expired-title = Ei vastausta
pay-expired-next = Asiakas ei vastannut ajoissa. Yritä uudelleen ja pyydä asiakasta katsomaan sovellusta.
pay-token-expired-title = Skannaa uudelleen
pay-token-expired-next = Asiakkaan skannaus on liian vanha. Pyydä asiakasta skannaamaan QR-koodi uudelleen ja yritä sitten uudelleen.
pay-send-to-scanned = Lähetä numeroon { $number }
pay-push-not-allowed-title = Push-maksut eivät ole käytössä
pay-push-not-allowed-next = Vipps MobilePay ei ole ottanut push-maksuja käyttöön tälle kaupalle. Pyydä ylläpitäjää ottamaan yhteyttä Vipps MobilePayhin; ota sillä välin vastaan muu maksutapa.
pay-cancelled-title = Peruttu
pay-cancelled-next = Rahaa ei veloitettu. Palaa koriin tai yritä uudelleen.
pay-cancelled-released = Varattu summa vapautettiin asiakkaalle. Palaa koriin tai yritä uudelleen.
pay-failed-title = Maksu ei onnistu
pay-failed-next = Yritä uudelleen tai palaa koriin.
pay-phone-title = Lähetä puhelinnumeroon
pay-phone-hint = Asiakas saa maksupyynnön sovellukseensa.
pay-phone-send = Lähetä pyyntö

## Kuitti
receipt-title = Kuitti
receipt-sale = Myynti { $sale }
receipt-reference = Vipps-viite: { $reference }
receipt-paid = Maksettu { $amount } ✓
receipt-new-sale = Uusi myynti (Enter)

## Historia
history-title = Tämän päivän myynnit
history-refresh = Päivitä
history-loading = Haetaan…
history-empty = Ei vielä myyntejä tänään.
history-pick = Napauta myyntiä nähdäksesi sen.
history-sale = Myynti { $sale }
history-captured = Vastaanotettu
history-refunded = Palautettu
history-refunded-amount = { $amount } palautettu
history-refund = Palauta…
history-nothing-to-refund = Ei mitään palautettavaa.
history-refund-max = Enintään { $amount } voidaan palauttaa.
history-refund-amount = Palautettava summa
history-refund-all = Kaikki
history-refund-confirm = Palauta (ylläpidon PIN)
history-refund-pending = Palautetaan…
history-refund-done = Palautettu { $amount } ✓
history-refund-bad-amount = Kirjoita nollaa suurempi summa, joka ei ylitä jäljellä olevaa.
sale-state-open = Avoin
sale-state-awaiting-check-in = Odottaa skannausta
sale-state-payment-requested = Pyyntö lähetetty
sale-state-authorized = Hyväksytty
sale-state-capturing = Veloitetaan
sale-state-completed = Maksettu
sale-state-declined = Hylätty
sale-state-expired = Vanhentunut
sale-state-cancelling = Perutaan
sale-state-cancelled = Peruttu
sale-state-failed = Epäonnistui
sale-state-refunded = Palautettu
sale-state-partially-refunded = Osittain palautettu

## Ylläpito
admin-set-pin-title = Valitse ylläpidon PIN
admin-set-pin-hint = PIN suojaa asetukset ja palautukset. Käytä 4–8 numeroa.
admin-pin-placeholder = Ylläpidon PIN
admin-pin-repeat = Toista PIN
admin-set-pin = Tallenna PIN
admin-pin-format = PIN-koodissa on oltava 4–8 numeroa.
admin-pin-mismatch = PIN-koodit eivät ole samat.
admin-locked-title = Ylläpito: anna PIN
admin-unlock = Avaa
admin-pin-wrong = Väärä PIN.
admin-lock = Lukitse
admin-section-connection = Yhteys
admin-section-catalogue = Tuoteluettelo
admin-section-language = Kieli ja ALV
admin-vipps = Vipps MobilePay
admin-env-test = Testi
admin-env-production = Tuotanto
admin-env-simulator = Simulaattori
admin-env-production-warning = Tuotanto: oikeaa rahaa liikkuu.
admin-simulator-url = Simulaattorin URL
admin-client-id = Client id
admin-client-secret = Client secret
admin-subscription-key = Subscription key
admin-msn = Myyntiyksikön numero (MSN)
admin-till = Tämä kassa
admin-till-id = Kassan tunnus (a–z, 0–9)
admin-till-name = Kassan nimi (näkyy sovelluksessa)
admin-merchant-qr-id = Merchant QR -tunnus (tyhjä: automaattinen)
admin-mobilepay-beacon-id = MobilePay-tarra (beacon-tunnus)
admin-mobilepay-beacon-hint = Tanska ja Suomi: painetun MobilePay PoS -tarran beacon-tunnus, johon kassa vastaa oman QR-koodinsa sijaan. Välityspalvelimen on tunnettava kassa samalla tunnuksella. Tyhjä: kassan oma QR-koodi.
admin-one-time-qr-always = Näytä QR-koodi jokaiselle maksulle (ei tarvitse välityspalvelinta)
admin-currency = Valuutta (NOK, DKK, EUR)
admin-relay = Välitin
admin-relay-url = Välittimen URL
admin-relay-token = Kassan tunniste
admin-test-connection = Testaa yhteys
admin-testing = Testataan…
admin-check-token = Käyttöoikeustunniste
admin-check-qr = QR-rajapinta
admin-check-relay = Välitin vastaa
admin-save = Tallenna
admin-saved = Tallennettu. Kassa käyttää uusia asetuksia.
admin-saved-demo = Tallennettu. Käynnistä Kasse uudelleen ottaaksesi asetukset käyttöön; demo jatkuu siihen asti.
admin-save-failed = Ei tallennettu: { $error }
admin-no-config-path = Järjestelmässä ei ole paikkaa asetustiedostolle.
admin-demo-save-hint = Tallennus kirjoittaa tiedoston { $path }; käynnistä Kasse uudelleen poistuaksesi demotilasta.
admin-catalogue-title = Tuoteluettelo ({ $count } tuotetta)
admin-item-add = Uusi tuote
admin-item-edit = Muokkaa
admin-item-delete = Poista
admin-item-edit-title = Muokkaa tuotetta
admin-item-new-title = Uusi tuote
admin-item-id = Tunnus (SKU)
admin-item-name = Nimi
admin-item-price = Hinta sis. ALV
admin-item-vat = ALV-kanta
admin-item-barcodes = Viivakoodit (välilyönnein erotettuina)
admin-item-category = Tuoteryhmä
admin-item-member-price = Jäsenhinta
admin-item-member-price-none = ei ole
admin-item-member-price-short = jäsen { $price }
admin-item-by-weight = Myydään painon mukaan (hinta / kg)
admin-item-invalid = Ei tallennettu: { $error }
admin-csv-title = Tuo CSV-tiedostosta
admin-csv-hint = Sarakkeet: id; name; price; vat; barcodes; category; unit. Kaikki tuodaan tai ei mitään.
admin-csv-import = Tuo
admin-csv-done = Tuotiin { $count } tuotetta.
admin-csv-failed = Mitään ei tuotu: { $count } virhettä.
admin-vat-rates = ALV-kannat
admin-vat-rates-hint = Käytössä olevat kannat ({ $country }):

## Simuloitu puhelin (demotila)
phone-label = SIMULOITU ASIAKKAAN PUHELIN
phone-app-name = Vipps (demo)
phone-home-hint = Esittää asiakasta: skannaa kassan QR-koodi ja hyväksy.
phone-scan = Skannaa kassan QR
phone-show-my-qr = Näytä oma QR
phone-my-qr-hint = Kassa skannaa tämän koodin
phone-stop-relay = Demo: pysäytä välityspalvelin
phone-start-relay = Demo: käynnistä välityspalvelin
phone-scan-again = Skannaa uudelleen
phone-waiting = Odotetaan kauppaa…
phone-request = Maksupyyntö
phone-approve = Hyväksy
phone-decline = Hylkää
phone-approved = Hyväksytty ✓
phone-declined = Hylätty
phone-login-code = Kauppa näyttää myös tämän koodin:
phone-error = Puhelin: { $error }

## Maksumoottorin viestit (engine-<id>)
engine-unknown = Jokin meni vikaan.
engine-vipps-unreachable = Vipps ei vastaa juuri nyt.
engine-vipps-credentials = Vipps hylkäsi kassan tunnukset. Pyydä ylläpitäjää tarkistamaan asetukset.
engine-config-invalid = Kassan asetukset ovat puutteelliset tai virheelliset. Kysy ylläpitäjältä.
engine-qr-setup-failed = Kassan QR-koodia ei voitu luoda Vippsissä.
engine-storage-failed = Kassan tietokanta petti. Vippsiin ei lähetetty mitään enempää.
engine-busy = Myynti on kesken: vie se loppuun tai peru se ensin.
engine-not-now = Ei mahdollista juuri nyt.
engine-invalid-amount = Summaa ei voi maksaa Vippsillä (tyhjä kori tai liian pieni tai suuri summa).
engine-tender-refused = Osamaksu hylättiin; mitään ei kirjattu.
engine-training-no-vipps = Harjoitustila: Vipps siirtää täällä oikeaa rahaa, joten Vipps-maksua ei aloiteta. Ota harjoitusmyynti käteisellä tai kortilla.
engine-return-refused = Palautus hylättiin; mitään ei kirjattu.
engine-invalid-phone = Vipps ei tunne tätä puhelinnumeroa. Tarkista se ja yritä uudelleen.
engine-no-scanned-customer = Skannanneen asiakkaan numeroa ei tunneta. Lähetä sen sijaan kirjoitettuun numeroon.
engine-payment-rejected = Vipps hylkäsi maksupyynnön.
engine-capture-mismatch = Maksua ei veloitettu kokonaan. Pyydä ylläpitäjää tarkistamaan tämä myynti.
engine-capture-pending = Vipps ei ole vielä vahvistanut veloitusta.
engine-cancel-pending = Vipps ei ole vielä vahvistanut perumista.
engine-outcome-unknown = Maksun tilaa ei voitu lukea.
engine-too-late-to-cancel = Liian myöhäistä perua: asiakas on hyväksynyt ja summaa veloitetaan.
engine-sale-not-found = Tällä numerolla ei löydy valmista myyntiä.
engine-refund-too-large = Summa on suurempi kuin palautettavaa on jäljellä.
engine-refund-rejected = Vipps hylkäsi palautuksen.
engine-refund-pending = Palautus on tallennettu ja sitä yritetään uudelleen.
engine-amount-mismatch = Vippsin ilmoittama summa ei vastaa myyntiä. Pyydä ylläpitäjää tarkistamaan se.
engine-rate-limited = Vipps rajoittaa tämän maksun kutsuja; Kasse yrittää pian uudelleen.
engine-loyalty-off = Kanta-asiakasohjelma on pois päältä. Ylläpitäjä kytkee sen päälle Adminissa.
engine-no-customer-to-invite = Ei kutsuttavaa asiakasta: pyydä asiakasta skannaamaan kassan QR tai syötä numero.
engine-invite-open = Tähän numeroon on jo avoin kutsu. Odota, että se päättyy.
engine-relay-down-one-time-qr = Kassan QR-koodin skannausyhteys ei toimi: näytetään tämän maksun QR-koodi sen sijaan.
engine-beacon-conflict = Vipps hylkäsi MobilePay-tarran: sen beacon-tunnus on jo liitetty toiseen kauppaan tai myyntiyksikköön, tai se on tämän myyntiyksikön oma QR-tunnus. Tarkista tunnus Adminissa tai pyydä tarran omistajaa vapauttamaan se.
engine-invalid-personal-qr = Tämä ei ole kelvollinen henkilökohtainen QR-koodi. Pyydä asiakasta näyttämään se uudelleen tai skannaamaan kassan QR-koodi.

## Tuoteluettelon tuonnin virheet (csv-*)
csv-empty = Tiedosto on tyhjä.
csv-missing-column = Ensimmäisellä rivillä ei ole saraketta ”{ $column }”.
csv-empty-field = Rivi { $line }: { $field } on tyhjä.
csv-bad-price = Rivi { $line }: ”{ $value }” ei ole hinta.
csv-bad-vat = Rivi { $line }: ”{ $value }” ei ole tässä maassa käytetty ALV-kanta.
csv-bad-unit = Rivi { $line }: ”{ $value }” ei ole yksikkö (pcs tai kg).
csv-unclosed-quote = Rivi { $line }: lainausmerkeissä olevaa kenttää ei ole suljettu.
csv-duplicate-id = Rivi { $line }: tunnus ”{ $id }” on jo käytössä (ensin rivillä { $first }).
csv-duplicate-barcode = Rivi { $line }: viivakoodi ”{ $barcode }” on jo käytössä (ensin rivillä { $first }).
csv-invalid = Rivi { $line }: { $detail }
csv-unreadable = Tiedostoa ei voi lukea: { $detail }
csv-not-stored = Tuoteluetteloa ei voitu tallentaa: { $detail }

## Tenders at the till
pay-cash = Käteinen
pay-card = Korttipääte
pay-part-paid = Maksettu: { $tender } { $amount }
pay-change = Vaihtoraha: { $amount }
pay-tender-left = Maksettavaa jäljellä: { $amount }
pay-tender-exact = Tasaraha
pay-tender-take = Vastaanota
pay-given-back = Palauta asiakkaalle: { $parts }
tender-vipps = Vipps MobilePay
tender-cash = Käteinen
tender-card = Kortti
tender-gift-card = Lahjakortti
tender-credit-note = Hyvityslappu
receipt-rounding = Pyöristys

## Log-in, reports and drawer
login-who = Kuka olet?
login-pin = PIN-koodi
login-lock-as = Lukitse ({ $name })
login-submit = Kirjaudu
login-demo-hint = Demo: kassan "Demo" PIN-koodi on 1234.
tab-reports = Raportit
reports-title = Raportit ja kassalaatikko
reports-x = X-raportti (päivä tähän asti)
reports-z = Z-raportti (päätä päivä)
reports-z-hint = Kerran päivässä, esimies, ei maksua kesken.
reports-training-on = Aloita harjoitustila
reports-training-off = Lopeta harjoitustila
reports-training-hint = Esimies. Harjoitusmyynnit lasketaan erikseen; Z-raportti, palautukset ja käteisliikkeet odottavat harjoituksen loppuun.
reports-training-now-on = Harjoitustila on päällä.
reports-training-now-off = Harjoitustila on pois päältä.
reports-open-drawer = Avaa laatikko (ei myyntiä)
reports-none = Ota X-raportti nähdäksesi päivän tähän asti.
reports-drawer-opened = Laatikko avattiin (kirjattu).

## Returns from History
history-return-title = Palauta tuotteita
history-return-line = { $sold } myyty, { $returned } palautettu
history-return = Palauta valitut
history-return-done = Maksettu takaisin { $amount }.
history-receipt-unknown = Millään myynnillä ei ole tätä kuittinumeroa.

## Cash in and out of the drawer
reports-amount = Summa (esim. 500)
reports-reason = Syy (otto)
reports-float = Vaihtokassa
reports-count = Laske kassa
reports-pay-in = Pano
reports-pay-out = Otto
reports-bad-amount = Kirjoita ensin summa (ja otolle syy).
reports-cash-recorded = Kirjattu.
reports-counted = Laskettu. Erotus odotettuun: { $difference }

## Printing
print-failed = Kuitti ei tulostunut ({ $error }); se jää jonoon: tulosta uudelleen historiasta.
reports-drawer-by-hand = Kirjattu. Kuittitulostinta ei ole: avaa laatikko käsin.history-print = Tulosta kuitti (uudelleen: kopio)

## Admin: cashiers
admin-section-cashiers = Kassat
admin-cashiers-title = Kassahenkilöt
admin-cashiers-none = Ei kassahenkilöitä: kassa myy ilman kirjautumista, kunnes lisäät yhden.
admin-cashier-role-cashier = Kassa
admin-cashier-role-manager = Esimies
admin-cashier-disable = Poista käytöstä
admin-cashier-disabled = Pois käytöstä
admin-cashier-add-title = Uusi kassahenkilö
admin-cashier-name = Nimi
admin-cashier-pin = PIN-koodi (4–8 numeroa)
admin-cashier-manager = Esimies (palautukset, laatikko, Z-raportti, ylläpito)
admin-cashier-add = Lisää kassahenkilö
admin-cashier-not-yourself = Et voi poistaa itseäsi käytöstä kirjautuneena.
reports-print = Tulosta raportti
reports-printed = Tulostettu.

## Admin: receipts and printer
admin-receipts = Kuitit ja tulostin
admin-shop-name = Kaupan nimi kuitissa
admin-shop-org-nr = Y-tunnus
admin-shop-address = Osoite (rivit pilkuilla eroteltuina)
admin-shop-logo = Logo (PNG-tiedosto, tulostetaan kuittien yläreunaan)
admin-printer = Kuittitulostin (tcp://PALVELIN:9100, device:/dev/usb/lp0, file:POLKU, none)
admin-print-test-page = Tulosta testisivu
admin-test-page-printed = Testisivu lähetettiin tulostimelle.

# Customer display
customer-welcome = Tervetuloa
customer-total = Yhteensä
customer-to-pay = Maksettavaa
customer-scan = Skannaa QR-koodi Vippsillä tai MobilePaylla
customer-approve = Hyväksy maksu sovelluksessa
customer-processing = Maksua viimeistellään …
customer-not-paid = Maksu ei mennyt läpi. Kysy kassalta.
customer-thanks = Kiitos!
customer-paid = Maksettu
customer-change = Vaihtoraha: { $amount }
customer-discount = Alennus
customer-window-title = asiakasnäyttö
customer-display-toggle = Asiakasnäyttö päälle/pois
admin-customer-display-open = Avaa asiakasnäyttö, kun kassa käynnistyy
admin-customer-display-fullscreen = Asiakasnäyttö koko näytöllä
admin-customer-display-at = Asiakasnäytön paikka x,y (sen näyttö; tyhjä: mikä tahansa)

# Loyalty (sale screen)
loyalty-member = Jäsen: { $name } ({ $number })
loyalty-points = { $points } pistettä
loyalty-not-member = Ei jäsen ({ $number })
loyalty-invite = Kutsu: { $programme }
loyalty-code = Kutsu lähetetty. Asiakas näkee tämän koodin sovelluksessa:
loyalty-declined = Asiakas kieltäytyi liittymästä. Myynti jatkuu.
loyalty-expired = Kutsu vanheni. Myynti jatkuu.
loyalty-invalid-user = Tällä numerolla ei voi liittyä Vippsin kautta (ei käyttäjää tai alle 15-vuotias). Myynti jatkuu.
loyalty-old-app = Asiakkaan sovellus on liian vanha liittymiseen. Myynti jatkuu.
loyalty-in-progress = Kutsu odottaa jo asiakkaan sovelluksessa. Yritä uudelleen muutaman minuutin päästä.
loyalty-unverified = Vippsin vastausta ei voitu varmentaa, joten jäsenyyttä ei tallennettu. Kutsu uudelleen.
loyalty-failed = Kutsua ei voitu viedä loppuun. Kutsu uudelleen tai jatka myyntiä.
loyalty-find = Etsi jäsen
loyalty-find-phone = Asiakkaan puhelinnumero
loyalty-find-submit = Etsi

# Loyalty (Admin)
admin-section-loyalty = Kanta-asiakkaat
admin-loyalty-title = Kanta-asiakasohjelma
admin-loyalty-enabled = Päällä (jokainen skannaus tarkistetaan jäsenistä)
admin-loyalty-programme = Ohjelman nimi
admin-loyalty-consent = Suostumusteksti (kuten Vippsissä asetettu)
admin-loyalty-save = Tallenna
admin-loyalty-saved = Tallennettu.
admin-member-discounts-title = Jäsenalennus tuoteryhmittäin
admin-member-discounts-hint = Prosenttialennus jäsenille; tyhjä: ei alennusta. Tuotteen oma jäsenhinta (Tuoteluettelo) on etusijalla.
admin-member-discount-invalid = { $category }: jäsenalennus on prosentti väliltä 0,01–100.
admin-members-title = Jäsenet
admin-members-search = Hae nimellä tai numerolla
admin-members-none = Ei vielä jäseniä.
admin-member-export = Vie
admin-member-erase = Poista
admin-member-erase-confirm = Poistetaanko lopullisesti?
admin-member-exported = Viety tiedostoon { $path }
admin-member-erased = Jäsen poistettu. Myynnit säilyvät ilman henkilötietoja.
