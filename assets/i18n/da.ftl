# Kasse, kassevinduet: dansk.
# Argumenter som { $amount } er allerede formateret (beløb i kassens format).

## Fælles
common-close = Luk

## Miljømærker (statuslinjen). Produktion må aldrig ligne test.
env-demo = DEMO · simulator, ingen rigtige penge
env-test = TEST · ingen rigtige penge
env-production = PRODUKTION · rigtige betalinger
env-simulator = SIMULATOR · ingen rigtige penge

## Statuslinje
tab-sale = Salg
tab-history = Historik
tab-admin = Admin
status-relay-connected = Relæ forbundet
status-relay-connecting = Relæ forbinder…
status-relay-reconnecting = Relæ forbinder igen (forsøg { $attempt })
status-relay-not-configured = Intet relæ: kunder kan ikke scanne
status-vipps-reachable = Vipps svarer
status-vipps-unreachable = Vipps svarer ikke
status-vipps-unknown = Vipps…
status-customer-waiting = Kunde venter
status-one-time-qr = Engangs-QR
status-engine-stopped = Betalingsmotoren er stoppet. Genstart kassen.
status-settings-not-saved = Indstillingerne blev ikke gemt: { $error }
status-recovered-unresolved = { $unresolved } ufærdige betalinger er ikke afklaret endnu; kassen prøver videre.
demo-banner = Demotilstand: en indbygget Vipps-simulator træder i stedet for Vipps, og ingen rigtige penge flyttes. Brug den simulerede telefon til højre. For at sætte en rigtig kasse op: Admin → Forbindelse.
training-banner = TRÆNINGSTILSTAND · ingen rigtige penge flyttes; bonerne hedder «Treningskvittering». En leder afslutter under Rapporter.

## Salg
sale-search-placeholder = Søg eller scan stregkode
sale-scanning = Scanner: { $code }
sale-unknown-barcode = Ukendt stregkode { $code }
sale-refused = Ikke muligt: { $reason }
sale-category-all = Alle
sale-catalog-empty = Varekataloget er tomt. Tilføj varer under Admin → Varekatalog (F4), eller importer en CSV-fil.
sale-no-items = Ingen varer passer.
sale-price-per-kg = { $price } pr. kg
sale-basket = Kurv
sale-basket-empty = Tryk på en vare eller scan en stregkode.
sale-clear = Tøm
sale-line-discount = rabat { $amount }
sale-basket-discount = Rabat på hele kurven
sale-subtotal = Subtotal
sale-discount = Rabat
sale-vat-line = Moms { $rate } af { $base }
sale-total = I alt
sale-customer-waiting = En kunde har scannet og venter: tryk Betal.
sale-not-this-customer = Ikke denne kunde
sale-pay = Betal { $amount }  (Enter)
sale-pay-empty = Betal
sale-discount-line-title = Rabat på { $name }
sale-discount-basket-title = Rabat på hele kurven
sale-discount-hint = Skriv en procent (10 %) eller et beløb (25,00).
sale-discount-apply = Anvend
sale-discount-remove = Fjern rabat
sale-discount-invalid = Skriv en procent som 10 % eller et beløb som 25,00.
sale-weight-title = Vægt i kg
sale-weight-add = Tilføj
sale-weight-invalid = Skriv vægten i kg, f.eks. 0,350.

## Betaling
pay-to-pay = At betale
pay-amount = Beløb { $amount }
pay-scan-hint = Scan med Vipps- eller MobilePay-appen
pay-qr-missing = Kassens QR-kode er ikke klar endnu. Se statuslinjen, eller send betalingen til kundens telefonnummer.
pay-progress = Betaling
pay-step-waiting = Venter på at kunden scanner
pay-step-checked-in = Kunden har scannet: sender anmodning
pay-step-request-sent = Anmodning sendt til kundens telefon
pay-step-approved = Godkendt af kunden
pay-step-captured = Betaling modtaget
pay-reference = Vipps-reference: { $reference }
pay-retrying = Kassen prøver videre.
pay-cancelling = Annullerer… kurven åbnes igen, når Vipps bekræfter.
pay-send-to-phone = Send til telefonnummer (F8)
pay-one-time-qr = Vis en QR-kode til denne betaling
pay-one-time-hint = En QR-kode kun til denne betaling: scan med kameraet eller Vipps- eller MobilePay-appen
pay-one-time-expires = Gyldig i { $time } endnu
pay-one-time-relay-down = Relæet kan ikke nås, så kassens egen QR-kode ville ikke virke. Den kommer tilbage, når relæet gør.
pay-cancel = Annuller (Esc)
pay-retry = Prøv igen (F5)
pay-back-to-basket = Tilbage til kurven (Esc)
pay-declined-title = Afvist
pay-declined-next = Kunden afviste i appen. Prøv igen, eller tag imod en anden betalingsform.
pay-expired-title = Intet svar
pay-expired-next = Kunden svarede ikke i tide. Prøv igen, og bed kunden kigge i appen.
pay-token-expired-title = Scan igen
pay-token-expired-next = Kundens scanning er for gammel. Bed kunden scanne QR-koden igen, og prøv igen.
pay-send-to-scanned = Send til { $number }
pay-push-not-allowed-title = Push-betaling er ikke slået til
pay-push-not-allowed-next = Vipps MobilePay har ikke slået push-betaling til for denne butik. Bed admin kontakte Vipps MobilePay; tag imod en anden betalingsform så længe.
pay-cancelled-title = Annulleret
pay-cancelled-next = Der blev ikke trukket penge. Gå tilbage til kurven eller prøv igen.
pay-cancelled-released = Det reserverede beløb er frigivet til kunden. Gå tilbage til kurven eller prøv igen.
pay-failed-title = Betaling ikke mulig
pay-failed-next = Prøv igen, eller gå tilbage til kurven.
pay-phone-title = Send til telefonnummer
pay-phone-hint = Kunden får betalingsanmodningen i sin app.
pay-phone-send = Send anmodning

## Kvittering
receipt-title = Kvittering
receipt-sale = Salg { $sale }
receipt-reference = Vipps-reference: { $reference }
receipt-paid = Betalt { $amount } ✓
receipt-new-sale = Nyt salg (Enter)

## Historik
history-title = Dagens salg
history-refresh = Opdater
history-loading = Henter…
history-empty = Ingen salg i dag endnu.
history-pick = Tryk på et salg for at se det.
history-sale = Salg { $sale }
history-captured = Modtaget
history-refunded = Refunderet
history-refunded-amount = { $amount } refunderet
history-refund = Refunder…
history-nothing-to-refund = Intet tilbage at refundere.
history-refund-max = Op til { $amount } kan refunderes.
history-refund-amount = Beløb at refundere
history-refund-all = Alt
history-refund-confirm = Refunder (admin-PIN)
history-refund-pending = Refunderer…
history-refund-done = Refunderet { $amount } ✓
history-refund-bad-amount = Skriv et beløb over nul og ikke mere end det, der er tilbage.
sale-state-open = Åben
sale-state-awaiting-check-in = Venter på scanning
sale-state-payment-requested = Anmodning sendt
sale-state-authorized = Godkendt
sale-state-capturing = Trækker beløbet
sale-state-completed = Betalt
sale-state-declined = Afvist
sale-state-expired = Udløbet
sale-state-cancelling = Annullerer
sale-state-cancelled = Annulleret
sale-state-failed = Fejlet
sale-state-refunded = Refunderet
sale-state-partially-refunded = Delvist refunderet

## Admin
admin-set-pin-title = Vælg en admin-PIN
admin-set-pin-hint = PIN-koden beskytter indstillinger og refusioner. Brug 4 til 8 cifre.
admin-pin-placeholder = Admin-PIN
admin-pin-repeat = Gentag PIN
admin-set-pin = Gem PIN
admin-pin-format = PIN-koden skal have 4 til 8 cifre.
admin-pin-mismatch = De to PIN-koder er ikke ens.
admin-locked-title = Admin: skriv PIN
admin-unlock = Lås op
admin-pin-wrong = Forkert PIN.
admin-lock = Lås
admin-section-connection = Forbindelse
admin-section-catalogue = Varekatalog
admin-section-language = Sprog og moms
admin-vipps = Vipps MobilePay
admin-env-test = Test
admin-env-production = Produktion
admin-env-simulator = Simulator
admin-env-production-warning = Produktion: rigtige penge flyttes.
admin-simulator-url = Simulator-URL
admin-client-id = Client id
admin-client-secret = Client secret
admin-subscription-key = Subscription key
admin-msn = Salgsenhedens nummer (MSN)
admin-till = Denne kasse
admin-till-id = Kasse-id (a–z, 0–9)
admin-till-name = Kassenavn (vises i appen)
admin-merchant-qr-id = Merchant QR-id (tom: automatisk)
admin-mobilepay-beacon-id = MobilePay-klistermærke (beacon-id)
admin-mobilepay-beacon-hint = Danmark og Finland: beacon-id'et på et trykt MobilePay PoS-klistermærke, som kassen svarer på i stedet for sin egen QR-kode. Relæet skal kende kassen med samme id. Tomt: kassens egen QR-kode.
admin-one-time-qr-always = Vis en QR-kode til hver betaling (kræver ikke relæ)
admin-currency = Valuta (NOK, DKK, EUR)
admin-relay = Relæ
admin-relay-url = Relæ-URL
admin-relay-token = Kassens token
admin-test-connection = Test forbindelsen
admin-testing = Tester…
admin-check-token = Adgangstoken
admin-check-qr = QR-API
admin-check-relay = Relæet svarer
admin-save = Gem
admin-saved = Gemt. Kassen bruger de nye indstillinger.
admin-saved-demo = Gemt. Genstart Kasse for at bruge indstillingerne; demoen kører indtil da.
admin-save-failed = Ikke gemt: { $error }
admin-no-config-path = Systemet har intet sted til konfigurationsfilen.
admin-demo-save-hint = Gem skriver { $path }; genstart Kasse for at forlade demotilstand.
admin-catalogue-title = Varekatalog ({ $count } varer)
admin-item-add = Ny vare
admin-item-edit = Rediger
admin-item-delete = Slet
admin-item-edit-title = Rediger vare
admin-item-new-title = Ny vare
admin-item-id = Id (varenummer)
admin-item-name = Navn
admin-item-price = Pris inkl. moms
admin-item-vat = Momssats
admin-item-barcodes = Stregkoder (adskilt med mellemrum)
admin-item-category = Kategori
admin-item-member-price = Medlemspris
admin-item-member-price-none = ingen
admin-item-member-price-short = medlem { $price }
admin-item-by-weight = Sælges efter vægt (pris pr. kg)
admin-item-invalid = Ikke gemt: { $error }
admin-csv-title = Importer fra CSV
admin-csv-hint = Kolonner: id; name; price; vat; barcodes; category; unit. Alt importeres, eller intet.
admin-csv-import = Importer
admin-csv-done = Importerede { $count } varer.
admin-csv-failed = Intet importeret: { $count } fejl.
admin-vat-rates = Momssatser
admin-vat-rates-hint = Satser i brug i { $country }:

## Simuleret telefon (demotilstand)
phone-label = SIMULERET KUNDETELEFON
phone-app-name = Vipps (demo)
phone-home-hint = Spiller kunden: scan kassens QR-kode, og godkend.
phone-scan = Scan kassens QR
phone-show-my-qr = Vis min QR
phone-my-qr-hint = Kassemedarbejderen scanner denne kode
phone-stop-relay = Demo: stop relæet
phone-start-relay = Demo: start relæet
phone-scan-again = Scan igen
phone-waiting = Venter på butikken…
phone-request = Betalingsanmodning
phone-approve = Godkend
phone-decline = Afvis
phone-approved = Godkendt ✓
phone-declined = Afvist
phone-login-code = Butikken viser også denne kode:
phone-error = Telefon: { $error }

## Meddelelser fra betalingsmotoren (engine-<id>)
engine-unknown = Noget gik galt.
engine-vipps-unreachable = Vipps svarer ikke lige nu.
engine-vipps-credentials = Vipps afviste kassens nøgler. Bed admin tjekke indstillingerne.
engine-config-invalid = Kassens indstillinger er ufuldstændige eller forkerte. Spørg admin.
engine-qr-setup-failed = Kassens QR-kode kunne ikke sættes op hos Vipps.
engine-storage-failed = Kassens database fejlede. Intet mere blev sendt til Vipps.
engine-busy = Et salg er i gang: afslut eller annuller det først.
engine-not-now = Ikke muligt lige nu.
engine-invalid-amount = Beløbet kan ikke betales med Vipps (tom kurv, eller for lille eller for stort).
engine-tender-refused = Den delbetaling blev afvist; intet er registreret.
engine-training-no-vipps = Træningstilstand: Vipps flytter rigtige penge her, så der startes ingen Vipps-betaling. Tag træningssalget kontant eller med kort.
engine-return-refused = Returneringen blev afvist; intet er registreret.
engine-invalid-phone = Vipps kender ikke dette telefonnummer. Tjek det og prøv igen.
engine-no-scanned-customer = Kassen kender ikke nummeret på kunden, der scannede. Send til et nummer, du skriver, i stedet.
engine-payment-rejected = Vipps afviste betalingsanmodningen.
engine-capture-mismatch = Betalingen blev ikke trukket fuldt ud. Bed admin se på dette salg.
engine-capture-pending = Vipps har ikke bekræftet trækket endnu.
engine-cancel-pending = Vipps har ikke bekræftet annulleringen endnu.
engine-outcome-unknown = Betalingens status kunne ikke læses.
engine-too-late-to-cancel = For sent at annullere: kunden har godkendt, og beløbet trækkes.
engine-sale-not-found = Intet gennemført salg med dette nummer.
engine-refund-too-large = Det er mere end det, der er tilbage at refundere.
engine-refund-rejected = Vipps afviste refusionen.
engine-refund-pending = Refusionen er gemt og bliver prøvet igen.
engine-amount-mismatch = Et beløb fra Vipps passer ikke med salget. Bed admin se på det.
engine-rate-limited = Vipps begrænser kald for denne betaling; Kasse prøver igen om lidt.
engine-loyalty-off = Kundeklubben er slået fra. En administrator slår den til i Admin.
engine-no-customer-to-invite = Ingen kunde at invitere: lad kunden scanne kassens QR, eller indtast nummeret.
engine-invite-open = En invitation til dette nummer er allerede i gang. Vent til den er færdig.
engine-relay-down-one-time-qr = Forbindelsen til scanning af kassens QR-kode er nede: viser en QR-kode til denne betaling i stedet.
engine-beacon-conflict = Vipps afviste MobilePay-klistermærket: dets beacon-id er allerede knyttet til en anden butik eller salgsenhed, eller det er et af denne salgsenheds egne QR-id'er. Tjek id'et i Admin, eller bed klistermærkets ejer om at frigive det.
engine-invalid-personal-qr = Det er ikke en gyldig personlig QR-kode. Bed kunden vise den igen eller scanne kassens QR-kode.

## Fejl ved import af varekatalog (csv-*)
csv-empty = Filen er tom.
csv-missing-column = Første linje har ingen kolonne »{ $column }«.
csv-empty-field = Linje { $line }: { $field } er tom.
csv-bad-price = Linje { $line }: »{ $value }« er ikke en pris.
csv-bad-vat = Linje { $line }: »{ $value }« er ikke en momssats, der bruges i dette land.
csv-bad-unit = Linje { $line }: »{ $value }« er ikke en enhed (pcs eller kg).
csv-unclosed-quote = Linje { $line }: et felt i anførselstegn er ikke afsluttet.
csv-duplicate-id = Linje { $line }: id »{ $id }« er brugt før (første gang på linje { $first }).
csv-duplicate-barcode = Linje { $line }: stregkode »{ $barcode }« er brugt før (første gang på linje { $first }).
csv-invalid = Linje { $line }: { $detail }
csv-unreadable = Filen kan ikke læses: { $detail }
csv-not-stored = Varekataloget kunne ikke gemmes: { $detail }

## Tenders at the till
pay-cash = Kontant
pay-card = Betalingsterminal
pay-part-paid = Betalt med { $tender }: { $amount }
pay-change = Byttepenge: { $amount }
pay-tender-left = Mangler at betale: { $amount }
pay-tender-exact = Præcist beløb
pay-tender-take = Modtag
pay-given-back = Giv kunden tilbage: { $parts }
tender-vipps = Vipps MobilePay
tender-cash = Kontant
tender-card = Kort
tender-gift-card = Gavekort
tender-credit-note = Tilgodeseddel
receipt-rounding = Øreafrunding

## Log-in, reports and drawer
login-who = Hvem er du?
login-pin = PIN-kode
login-lock-as = Lås ({ $name })
login-submit = Log ind
login-demo-hint = Demo: ekspedienten "Demo" har PIN-kode 1234.
tab-reports = Rapporter
reports-title = Rapporter og skuffe
reports-x = X-rapport (dagen indtil nu)
reports-z = Z-rapport (afslut dagen)
reports-z-hint = Én gang om dagen, af en leder, uden betaling i gang.
reports-training-on = Start træningstilstand
reports-training-off = Afslut træningstilstand
reports-training-hint = En leder. Træningssalg tælles for sig; Z-rapport, returneringer og kontantbevægelser venter, til træningen er slut.
reports-training-now-on = Træningstilstand er slået til.
reports-training-now-off = Træningstilstand er slået fra.
reports-open-drawer = Åbn skuffen (uden salg)
reports-none = Tag en X-rapport for at se dagen indtil nu.
reports-drawer-opened = Skuffen blev åbnet (registreret).

## Returns from History
history-return-title = Returner varer
history-return-line = { $sold } solgt, { $returned } returneret
history-return = Returner de valgte varer
history-return-done = Betalt tilbage { $amount }.
history-receipt-unknown = Intet salg har det kvitteringsnummer.

## Cash in and out of the drawer
reports-amount = Beløb (f.eks. 500)
reports-reason = Årsag (udbetaling)
reports-float = Byttepenge
reports-count = Optæl kassen
reports-pay-in = Indbetaling
reports-pay-out = Udbetaling
reports-bad-amount = Skriv et beløb først (og en årsag til udbetaling).
reports-cash-recorded = Registreret.
reports-counted = Optalt. Difference til forventet beholdning: { $difference }

## Printing
print-failed = Kvitteringen blev ikke udskrevet ({ $error }); den står i kø: udskriv den igen fra Historik.
reports-drawer-by-hand = Registreret. Ingen bonprinter er sat op: åbn skuffen manuelt.history-print = Udskriv kvitteringen (igen: kopi)

## Admin: cashiers
admin-section-cashiers = Ekspedienter
admin-cashiers-title = Ekspedienter
admin-cashiers-none = Ingen ekspedienter endnu: kassen sælger uden login, til du tilføjer en.
admin-cashier-role-cashier = Ekspedient
admin-cashier-role-manager = Leder
admin-cashier-disable = Deaktiver
admin-cashier-disabled = Deaktiveret
admin-cashier-add-title = Ny ekspedient
admin-cashier-name = Navn
admin-cashier-pin = PIN-kode (4 til 8 cifre)
admin-cashier-manager = Leder (retur, skuffe, Z-rapport, admin)
admin-cashier-add = Tilføj ekspedient
admin-cashier-not-yourself = Du kan ikke deaktivere dig selv, mens du er logget ind.
reports-print = Udskriv rapporten
reports-printed = Udskrevet.

## Admin: receipts and printer
admin-receipts = Kvitteringer og printer
admin-shop-name = Butiksnavn på kvitteringen
admin-shop-org-nr = CVR-nummer
admin-shop-address = Adresse (linjer adskilt med komma)
admin-shop-logo = Logo (PNG-fil, udskrives øverst på kvitteringerne)
admin-printer = Bonprinter (tcp://VÆRT:9100, device:/dev/usb/lp0, file:STI, none)
admin-print-test-page = Udskriv testside
admin-test-page-printed = Testsiden blev sendt til printeren.

# Customer display
customer-welcome = Velkommen
customer-total = I alt
customer-to-pay = At betale
customer-scan = Scan QR-koden med Vipps eller MobilePay
customer-approve = Godkend betalingen i appen
customer-processing = Gennemfører betalingen …
customer-not-paid = Betalingen gik ikke igennem. Spørg ved kassen.
customer-thanks = Tak!
customer-paid = Betalt
customer-change = Byttepenge: { $amount }
customer-discount = Rabat
customer-window-title = kundeskærm
customer-display-toggle = Kundeskærm til/fra
admin-customer-display-open = Åbn kundeskærmen, når kassen starter
admin-customer-display-fullscreen = Kundeskærm i fuld skærm
admin-customer-display-at = Kundeskærmens placering x,y (dens skærm; tom: hvor som helst)

# Loyalty (sale screen)
loyalty-member = Medlem: { $name } ({ $number })
loyalty-points = { $points } point
loyalty-not-member = Ikke medlem ({ $number })
loyalty-invite = Inviter til { $programme }
loyalty-code = Invitationen er sendt. Kunden ser denne kode i appen:
loyalty-declined = Kunden sagde nej til at blive medlem. Salget fortsætter.
loyalty-expired = Invitationen udløb. Salget fortsætter.
loyalty-invalid-user = Dette nummer kan ikke blive medlem med Vipps (ingen bruger, eller under 15). Salget fortsætter.
loyalty-old-app = Kundens app er for gammel til at blive medlem. Salget fortsætter.
loyalty-in-progress = En invitation venter allerede i kundens app. Prøv igen om et par minutter.
loyalty-unverified = Svaret fra Vipps kunne ikke bekræftes, så medlemskabet blev ikke gemt. Inviter igen.
loyalty-failed = Invitationen kunne ikke gennemføres. Inviter igen, eller fortsæt salget.
loyalty-find = Find medlem
loyalty-find-phone = Kundens telefonnummer
loyalty-find-submit = Find

# Loyalty (Admin)
admin-section-loyalty = Kundeklub
admin-loyalty-title = Kundeklub
admin-loyalty-enabled = Til (hver scanning tjekkes mod medlemmerne)
admin-loyalty-programme = Klubbens navn
admin-loyalty-consent = Samtykketekst (som sat op hos Vipps)
admin-loyalty-save = Gem
admin-loyalty-saved = Gemt.
admin-member-discounts-title = Medlemsrabat pr. kategori
admin-member-discounts-hint = Procent rabat for medlemmer; tom: ingen. En vares egen medlemspris (Varekatalog) går forud.
admin-member-discount-invalid = { $category }: en medlemsrabat er en procentsats fra 0,01 til 100.
admin-members-title = Medlemmer
admin-members-search = Søg på navn eller nummer
admin-members-none = Ingen medlemmer endnu.
admin-member-export = Eksporter
admin-member-erase = Slet
admin-member-erase-confirm = Slet for altid?
admin-member-exported = Eksporteret til { $path }
admin-member-erased = Medlemmet er slettet. Salgene består, uden personoplysninger.
