import { processorBehaviourSuite, STRIPE_INSTRUMENTS } from './behaviour-suite.js';

processorBehaviourSuite('stripe', STRIPE_INSTRUMENTS);
