import { processorBehaviourSuite, SANDBOX_INSTRUMENTS } from './behaviour-suite.js';

processorBehaviourSuite('sandbox', SANDBOX_INSTRUMENTS);
