-- The channels of interest (product brief): principal CNAE -> channel. The one place
-- the list is kept; rewritten on every load inside the load's transaction.
DELETE FROM core.channels;
INSERT INTO core.channels (cnae, channel) VALUES
    ('5611201', 'restaurant'),
    ('5611203', 'snack_bar'),
    ('5611204', 'bar'),
    ('5611205', 'bar_with_entertainment'),
    ('5620102', 'buffet_events'),
    ('4711301', 'hypermarket'),
    ('4711302', 'supermarket'),
    ('4712100', 'minimarket'),
    ('4691500', 'wholesale'),
    ('4637107', 'wholesale');
